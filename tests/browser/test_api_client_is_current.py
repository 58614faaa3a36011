"""The web app's typed API client is generated from the gateway's OpenAPI schema; both files are
committed. This fails when the gateway's API changed and they were not regenerated (no browser)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "web"


def test_committed_openapi_schema_and_client_types_match_the_gateway(tmp_path):
    schema = subprocess.run([sys.executable, "-m", "gateway.openapi"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    (tmp_path / "openapi.json").write_text(schema)
    assert (WEB / "openapi.json").exists(), "web/openapi.json is missing: run make openapi"
    assert (WEB / "openapi.json").read_text() == schema, "web/openapi.json is out of date: run make openapi"

    cli = WEB / "node_modules" / ".bin" / "openapi-typescript"
    assert cli.exists(), "web/node_modules is not installed: run make install"
    node_bin = str(Path(shutil.which("node") or Path(sys.executable).parent / "node").parent)
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{node_bin}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([str(cli), str(tmp_path / "openapi.json"), "-o", str(tmp_path / "schema.d.ts")],
                   cwd=WEB, check=True, capture_output=True, env=env)
    assert (tmp_path / "schema.d.ts").read_text() == (WEB / "src" / "api" / "schema.d.ts").read_text(), \
        "web/src/api/schema.d.ts is out of date: run make openapi"
