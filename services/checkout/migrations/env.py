from sqlmodel import SQLModel

import checkout.models  # noqa: F401
import dropline_infra.models  # noqa: F401  (outbox, inbox, jobs, dead letters)
from dropline_infra.migrations import run_env

run_env(SQLModel.metadata, "checkout")
