"""The product stays readable in small pieces: files and functions a reader can hold.

The layer contracts (which package may import which) are checked by import-linter in
./scripts/test; see ``[tool.importlinter]`` in pyproject.toml.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCT_PACKAGES = ("shared", "backend_client", "channels", "bot", "worker", "batchctl", "sandbox")
MAX_FILE_LINES = 300
MAX_FUNCTION_LINES = 60

SOURCES = sorted(path for package in PRODUCT_PACKAGES for path in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_a_product_file_has_at_most_300_lines(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_FILE_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it"


def test_no_product_function_is_over_60_lines() -> None:
    too_long = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}: {length}")
    assert too_long == []
