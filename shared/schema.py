"""The published JSON Schema of the backend contract, generated from the models.

``python -m shared.schema`` rewrites ``schemas/`` (``--check`` only compares); a test
fails when the files and the models disagree, so the published contract can never drift
silently.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from pydantic import BaseModel

from shared.models import BatchRequest, BatchResponse, StreamDelta

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
SCHEMAS: dict[str, type[BaseModel]] = {
    "batch-request.schema.json": BatchRequest,
    "batch-response.schema.json": BatchResponse,
    "stream-delta.schema.json": StreamDelta,
}


def render(model: type[BaseModel]) -> str:
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m shared.schema",
        description="Write the backend contract's JSON Schemas to schemas/, from the models.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 naming each file that differs from the models",
    )
    args = parser.parse_args()
    if args.check:
        stale = [n for n, m in SCHEMAS.items() if _read(SCHEMA_DIR / n) != render(m)]
        for name in stale:
            print(f"schemas/{name} differs from the models: run python -m shared.schema")
        sys.exit(1 if stale else 0)
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, model in SCHEMAS.items():
        (SCHEMA_DIR / name).write_text(render(model))
        print(f"wrote schemas/{name}")


def _read(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


if __name__ == "__main__":
    main()
