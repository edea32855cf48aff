"""The Graph API's error body, the same for WhatsApp's Cloud API and the Send API:
``{"error": {"message", "code", "error_subcode", "error_data": {"details"}}}``."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True, slots=True)
class GraphError:
    code: int | None
    subcode: int | None
    detail: str
    """Its most specific message (``error_data.details`` where given)."""


def graph_error(response: httpx.Response) -> GraphError:
    """What a failed Graph API call said; HTTP status only for a body that is not one."""
    try:
        error = response.json().get("error", {})
    except (ValueError, AttributeError):
        return GraphError(None, None, f"HTTP {response.status_code}")
    if not isinstance(error, dict):
        return GraphError(None, None, f"HTTP {response.status_code}")
    details = error.get("error_data", {})
    detail = details.get("details") if isinstance(details, dict) else None
    code, subcode = error.get("code"), error.get("error_subcode")
    return GraphError(
        code if isinstance(code, int) else None,
        subcode if isinstance(subcode, int) else None,
        str(detail or error.get("message", "")),
    )
