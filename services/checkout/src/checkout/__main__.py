from dropline_infra.runtime import serve

from .app import create_app
from .settings import Settings

settings = Settings()
serve(create_app(settings), settings)
