"""Small helpers shared by the stand-ins' command lines and by tests."""

from __future__ import annotations

import argparse
import logging
import socket
from datetime import UTC, datetime

import uvicorn
from fastapi import FastAPI


def add_server_arguments(parser: argparse.ArgumentParser, *, default_port: int) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default_port, help=f"port (default {default_port})")
    parser.add_argument("--log-level", default="info", help="uvicorn log level (default info)")


def serve(app: FastAPI, args: argparse.Namespace) -> None:
    """Run ``app`` with uvicorn in the foreground (one process, one event loop: state is in memory).
    The stand-in's own log lines (``dropline_testsupport.*``) go to stderr at the same level."""
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free right now (for tests that start a real server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime) -> str:
    """``2026-01-02T03:04:05Z`` (second precision, UTC): the form both stand-ins use in JSON."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
