"""HTTP client for the backend's batch endpoint (contract v1)."""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from backend_client._errors import PermanentBackendError, RetryableBackendError, excerpt
from shared.models import BatchRequest, BatchResponse, to_json

USER_AGENT = "batchbot/0.1"


class BackendClient:
    """One pooled ``httpx.AsyncClient`` per worker process; close it on shutdown."""

    def __init__(self, url: str, timeout_seconds: float) -> None:
        self.url = url
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds),
            headers={"User-Agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def answer(self, request: BatchRequest) -> BatchResponse:
        """POST one batch and return the validated answer, or raise a classified error."""
        try:
            response = await self._http.post(
                self.url,
                content=to_json(request),
                headers={
                    "Content-Type": "application/json",
                    "Idempotency-Key": request.batch_id,
                },
            )
        except httpx.TimeoutException as error:
            raise RetryableBackendError(f"backend timed out: {error!r}") from error
        except httpx.TransportError as error:
            raise RetryableBackendError(f"backend unreachable: {error!r}") from error

        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableBackendError(
                f"backend answered {response.status_code}: {excerpt(response.text)}"
            )
        if response.status_code != 200:
            raise PermanentBackendError(
                f"backend answered {response.status_code}: {excerpt(response.text)}"
            )
        try:
            return BatchResponse.model_validate_json(response.content)
        except ValidationError as error:
            raise PermanentBackendError(
                "backend answered 200 with a body that is not a BatchResponse "
                f"({error.error_count()} problem(s), first: {error.errors()[0]['msg']}): "
                f"{excerpt(response.text)}"
            ) from error
