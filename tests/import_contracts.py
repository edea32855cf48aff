"""An import-linter contract type the built-in ones lack: private modules stay private.

A module whose name starts with one underscore (``backend_client._transport``) belongs
to its package: only modules inside that package may import it. Everyone else goes
through the package's public names, so its insides can change without breaking them.
"""

from __future__ import annotations

from grimp import ImportGraph
from importlinter import Contract, ContractCheck, output


def private_owner(module: str) -> str | None:
    """The package a private module belongs to, or None for a public module."""
    parts = module.split(".")
    for index, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:index])
    return None


class PrivateModulesContract(Contract):
    """No module imports a private ``_module`` of a package it is not part of."""

    type_name = "private_modules"

    def check(self, graph: ImportGraph, verbose: bool) -> ContractCheck:
        violations: list[str] = []
        for importer in sorted(graph.modules):
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                owner = private_owner(imported)
                if owner is None or importer == owner or importer.startswith(owner + "."):
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                line = details[0]["line_number"] if details else "?"
                violations.append(f"{importer}:{line} imports {imported}, private to {owner}")
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for violation in check.metadata["violations"]:
            output.print_error(violation)
        output.print("Import what the package exports instead (its __init__), or export it.")
