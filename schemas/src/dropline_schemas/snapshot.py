"""Write / compare the JSON Schema snapshots of every event (``python -m dropline_schemas.snapshot``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .events import ALL_EVENTS

SNAPSHOT_DIR = Path(__file__).parent / "snapshots"


def snapshot_name(cls) -> str:
    return f"{cls.event_type_name}.v{cls.schema_version_number}.json"


def current_schemas() -> dict[str, dict]:
    return {snapshot_name(cls): cls.model_json_schema(mode="serialization") for cls in ALL_EVENTS}


def write() -> None:
    SNAPSHOT_DIR.mkdir(exist_ok=True)
    for name, schema in current_schemas().items():
        (SNAPSHOT_DIR / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    write()
    print(f"wrote {len(ALL_EVENTS)} snapshots to {SNAPSHOT_DIR}", file=sys.stderr)
