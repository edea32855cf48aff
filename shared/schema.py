"""The published JSON Schema of the backend contract, generated from the models.

``python -m shared.schema`` rewrites ``schemas/``; a test fails when the files and the
models disagree, so the published contract can never drift silently.
"""

from __future__ import annotations

import json
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
    SCHEMA_DIR.mkdir(exist_ok=True)
    for name, model in SCHEMAS.items():
        (SCHEMA_DIR / name).write_text(render(model))
        print(f"wrote schemas/{name}")


if __name__ == "__main__":
    main()
