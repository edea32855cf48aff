"""TENANTS_FILE's mistakes in the file's own words: a setting's problem at its key, and the
accounts or ports two tenants cannot share."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from shared.models import Channel
from shared.settings import problem_message

if TYPE_CHECKING:
    from config.tenants import Tenant


def problem_line(problem: Any, where: str, names: Mapping[str, str]) -> str:
    """pydantic's problem at ``where``, the setting named by the file's key."""
    loc = problem["loc"]
    if not loc:
        return f"{where}: {problem_message(problem)}"
    key = names.get(str(loc[0]), str(loc[0]))
    secret = isinstance(problem.get("input"), SecretStr) or "token" in key or "secret" in key
    got = "" if secret or problem["type"] == "missing" else f" (got {problem.get('input')!r})"
    return f"{where}.{key}: {problem_message(problem)}{got}"


def clashes(tenants: list[Tenant[Any]]) -> list[str]:
    """An account served twice would answer twice, and two Telegram webhooks cannot listen
    on one port; say which tenants share it."""
    seen: dict[tuple[Channel, str | None], str] = {}
    ports: dict[int, tuple[str, str | None]] = {}
    problems = []
    for tenant in tenants:
        for account in tenant.accounts:
            identity = account.adapter.identity_in(account.settings)
            key = (account.channel, identity)
            other = seen.setdefault(key, tenant.name)
            if other != tenant.name:
                problems.append(
                    f"tenants.{tenant.name}: its {account.channel.value} account {identity} is "
                    f"{other}'s too; an account belongs to one tenant"
                )
            port = _webhook_port(account.settings)
            if port is None:
                continue
            first = ports.setdefault(port, (tenant.name, identity))
            if first != (tenant.name, identity):
                problems.append(
                    f"tenants.{tenant.name}: bot {identity}'s webhook_listen_port {port} is "
                    f"{first[0]}'s bot {first[1]}'s too; give each webhook a port of its own"
                )
    return problems


def _webhook_port(settings: object) -> int | None:
    """The port a Telegram bot in webhook mode listens on (None: not in webhook mode)."""
    if getattr(settings, "webhook_url", None) is None or not getattr(settings, "bot_token", None):
        return None
    port: int = getattr(settings, "webhook_listen_port")  # noqa: B009 (any settings class)
    return port
