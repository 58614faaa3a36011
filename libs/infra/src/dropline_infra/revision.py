"""`python -m dropline_infra.revision <service-dir> "message"`: autogenerate an Alembic revision
for a service against a scratch SQLite database at head (used by `make migration`)."""

import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command

from .migrations import alembic_config, upgrade


def main() -> None:
    service_dir, message = Path(sys.argv[1]).resolve(), sys.argv[2]
    service = service_dir.name
    importlib.import_module(service.replace("-", "_") + ".models")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        upgrade(service, url, service_dir / "migrations")
        command.revision(alembic_config(service, url, service_dir / "migrations"), message=message, autogenerate=True)


if __name__ == "__main__":
    main()
