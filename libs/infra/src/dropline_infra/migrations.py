"""Alembic, the only source of tables outside unit tests. Each service keeps its revisions in
`services/<name>/migrations/` and its own version table, so services never step on each other
even when an operator points two of them at one database."""

from __future__ import annotations

import zlib
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from .db import sync_url


def alembic_config(service: str, url: str, script_location: Path) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str, script_location: Path) -> None:
    """Bring the service's database to head. On PostgreSQL an advisory lock keeps two replicas
    starting at once from migrating concurrently."""
    cfg = alembic_config(service, url, script_location)
    if sync_url(url).startswith("postgresql"):
        engine = create_engine(sync_url(url), poolclass=NullPool)
        with engine.connect() as conn:
            key = zlib.crc32(f"dropline-migrate-{service}".encode())
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        engine.dispose()
    else:
        command.upgrade(cfg, "head")


def run_env(target_metadata, service: str) -> None:
    """Body of every service's migrations/env.py."""
    from alembic import context

    config = context.config
    version_table = f"alembic_version_{service.replace('-', '_')}"
    conn = config.attributes.get("connection")
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                          literal_binds=True, version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
        return

    def _run(connection):
        context.configure(connection=connection, target_metadata=target_metadata, version_table=version_table,
                          render_as_batch=connection.dialect.name == "sqlite", compare_type=True)
        with context.begin_transaction():
            context.run_migrations()

    if conn is not None:
        _run(conn)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()
