"""The backend a tenant's batches are answered by, from its settings."""

from __future__ import annotations

from pydantic import SecretStr

from backend_client import BackendClient, OpenAIChatClient
from worker.settings import WorkerProcessSettings


def backend_of(settings: WorkerProcessSettings) -> BackendClient | OpenAIChatClient:
    """batchbot's contract at BACKEND_URL, or (BACKEND_PROTOCOL=openai) a model there."""
    if settings.backend_protocol == "openai":
        assert settings.backend_model is not None  # checked with the settings
        return OpenAIChatClient(
            str(settings.backend_url),
            settings.backend_timeout_seconds,
            model=settings.backend_model,
            bearer_token=secret(settings.backend_bearer_token),
            system_prompt=settings.system_prompt,
        )
    return BackendClient(
        str(settings.backend_url),
        settings.backend_timeout_seconds,
        bearer_token=secret(settings.backend_bearer_token),
        signing_secret=secret(settings.backend_signing_secret),
    )


def secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
