"""``python -m dropline_testsupport.ecb_standin --port 8108 [--today 2026-11-27]``"""

from __future__ import annotations

import argparse
from datetime import date

from .._server import add_server_arguments, serve
from .app import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m dropline_testsupport.ecb_standin",
                                     description="ECB euro reference rates stand-in for Dropline tests and demos.")
    add_server_arguments(parser, default_port=8108)
    parser.add_argument("--today", type=date.fromisoformat,
                        help="serve rates as if today were this date (default: the real UTC date, every request)")
    args = parser.parse_args(argv)
    serve(create_app(today=args.today), args)


if __name__ == "__main__":
    main()
