from sqlmodel import SQLModel

import dropline_infra.models  # noqa: F401  (outbox, inbox, jobs, dead letters)
import order_ingest.models  # noqa: F401
from dropline_infra.migrations import run_env

run_env(SQLModel.metadata, "order-ingest")
