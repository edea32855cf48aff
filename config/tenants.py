"""Many businesses on one deployment: ``TENANTS_FILE``, read and checked.

A tenant is a name, the channel accounts it answers on (any number of Telegram bots,
WhatsApp numbers, Instagram accounts and Pages) and the settings it sets differently
from the environment: its backend, its batching rules, its greeting, its limit on
batches in flight. A tenant's settings are the environment's, named the same in lower
case, so one page of the README documents both. The environment's own channels, when
any is set, are one more tenant, ``default``, exactly as a deployment without the file
runs: a single tenant keeps running on environment variables alone.

The file is TOML, which Python reads with its standard library (``tomllib``) and whose
comments let an operator say why a tenant differs. Every mistake is one line naming
the tenant and the key; the process stops at start-up, and a reload that finds one
keeps the tenants it had (:mod:`config.tenants_watch`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from channels.adapter import ChannelAdapter
from channels.registry import ADAPTERS, ChannelSettings
from config.tenant_checks import clashes, problem_line
from shared.models import Channel
from shared.redaction import secrets_of
from shared.settings import ConfigError

S = TypeVar("S", bound=ChannelSettings)

DEFAULT_TENANT = "default"
"""The tenant the environment's own channel settings make."""

TENANT_SETTINGS = frozenset(
    {
        "backend_url",
        "backend_protocol",
        "backend_model",
        "backend_system_prompt",
        "backend_bearer_token",
        "backend_signing_secret",
        "backend_timeout_seconds",
        "backend_failure_reply",
        "batch_window_seconds",
        "batch_window_by_kind",
        "batch_album_grace_seconds",
        "batch_max_messages",
        "batch_max_wait_seconds",
        "batch_supersede",
        "handoff_seconds",
        "history_turns",
        "start_greeting",
        "group_answer_when",
        "max_batches_in_flight",
    }
)
"""What a tenant may set for itself; everything else (Redis, workers, ports) is the
deployment's."""

TENANT_ONLY_KEYS = frozenset({"console_token"})
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
_BY_KEY = {adapter.channel.value: adapter for adapter in ADAPTERS}


class TenantsFileError(ValueError):
    """The file's mistakes, one line each, naming the tenant and the key."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass(frozen=True, slots=True)
class Account(Generic[S]):
    """One channel account of a tenant: its settings are the tenant's with the account's
    credentials in place of the environment's."""

    adapter: type[ChannelAdapter]
    owner: str | None
    """How its conversation ids name it (a bot id, a phone number id, an account, a
    Page); None for the environment's account of a channel, today's ids."""
    settings: S

    @property
    def channel(self) -> Channel:
        return self.adapter.channel


@dataclass(frozen=True, slots=True)
class Tenant(Generic[S]):
    name: str
    settings: S
    """The process's settings as this tenant sees them (its backend, rules, greeting)."""
    accounts: tuple[Account[S], ...]
    console_token: str | None = None
    """Lets the console show this tenant only (TENANTS_FILE's ``console_token``)."""


def read_tenants(settings: S) -> list[Tenant[S]]:
    """The environment's tenant (when it sets a channel) and TENANTS_FILE's, each checked
    against ``settings``'s own class; TenantsFileError with every mistake."""
    tenants = [_environment_tenant(settings)] if settings.channels else []
    path = settings.tenants_file
    if path is None:
        return tenants
    document = _document(path)
    problems: list[str] = []
    for name, spec in document.items():
        tenant = _tenant(settings, name, spec, problems)
        if tenant is not None:
            tenants.append(tenant)
    problems += clashes(tenants)
    if problems:
        raise TenantsFileError([f"TENANTS_FILE {line}" for line in problems])
    return tenants


def _environment_tenant(settings: S) -> Tenant[S]:
    accounts = tuple(
        Account(adapter, adapter.owner_in(settings), settings)
        for adapter in settings.configured_adapters
    )
    return Tenant(DEFAULT_TENANT, settings, accounts)


def _document(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise TenantsFileError([f"TENANTS_FILE: cannot read {path}: {error.strerror}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise TenantsFileError([f"TENANTS_FILE ({path}) is not TOML: {error}"]) from None
    extra = sorted(set(document) - {"tenants"})
    if extra:
        raise TenantsFileError(
            [f"TENANTS_FILE ({path}): unknown table {extra[0]!r}; tenants go in [tenants.<name>]"]
        )
    tenants = document.get("tenants", {})
    if not isinstance(tenants, dict):
        raise TenantsFileError([f"TENANTS_FILE ({path}): tenants must be tables [tenants.<name>]"])
    return tenants


def _tenant(settings: S, name: str, spec: Any, problems: list[str]) -> Tenant[S] | None:
    where = f"tenants.{name}"
    if name == DEFAULT_TENANT or not _NAME.fullmatch(name):
        problems.append(
            f"{where}: a tenant's name is 1 to 40 of a-z, 0-9, _ and -, starting with a letter "
            f"or digit, and not {DEFAULT_TENANT!r} (the environment's own tenant)"
        )
        return None
    if not isinstance(spec, dict):
        problems.append(f"{where}: must be a table of settings and accounts")
        return None
    known = TENANT_SETTINGS | TENANT_ONLY_KEYS | set(_BY_KEY)
    for key in sorted(set(spec) - known):
        problems.append(
            f"{where}.{key}: not a setting a tenant may set; it may set "
            f"{', '.join(sorted(TENANT_SETTINGS))}, console_token, and its accounts "
            f"({', '.join(_BY_KEY)})"
        )
    own = {key: value for key, value in spec.items() if key in TENANT_SETTINGS}
    # A tenant that sets nothing of its own answers as the environment says (and shares
    # its backend client); checking a copy of every setting costs 3 ms a tenant.
    tenant_settings = (
        _validated(settings, own, where, problems, _no_channels(settings)) if own else settings
    )
    token = spec.get("console_token")
    if token is not None and (not isinstance(token, str) or len(token) < 16):
        problems.append(f"{where}.console_token: must be text of 16 characters or more")
    if tenant_settings is None:
        return None
    accounts = _accounts(settings, own, spec, where, problems)
    if accounts is None:
        return None
    if not accounts:
        problems.append(f"{where}: has no account; add one, e.g. telegram = [{{bot_token = ...}}]")
    return Tenant(name, tenant_settings, tuple(accounts), token)


def _accounts(
    settings: S, own: dict[str, Any], spec: dict[str, Any], where: str, problems: list[str]
) -> list[Account[S]] | None:
    accounts: list[Account[S]] = []
    before = len(problems)
    for key, adapter in _BY_KEY.items():
        entries = spec.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            problems.append(f"{where}.{key}: must be a list of accounts, e.g. {key} = [{{...}}]")
            continue
        for index, entry in enumerate(entries):
            account = _account(settings, own, adapter, entry, f"{where}.{key}[{index}]", problems)
            if account is not None:
                accounts.append(account)
    return accounts if len(problems) == before else None


def _account(
    settings: S,
    own: dict[str, Any],
    adapter: type[ChannelAdapter],
    entry: dict[str, Any],
    where: str,
    problems: list[str],
) -> Account[S] | None:
    keys = adapter.account_keys
    unknown = sorted(set(entry) - set(keys))
    if unknown:
        problems.append(f"{where}.{unknown[0]}: unknown; an account takes {', '.join(keys)}")
        return None
    if adapter.account_key not in entry:
        problems.append(f"{where}: needs {adapter.account_key}")
        return None
    values = {keys[key]: value for key, value in entry.items()}
    names = {setting: key for key, setting in keys.items()}
    base = _no_channels(settings)
    account_settings = _validated(settings, own | values, where, problems, base, names)
    if account_settings is None:
        return None
    if not adapter.configured(account_settings):
        credential = next(k for k, v in keys.items() if v == adapter.credential.lower())
        problems.append(f"{where}: needs {credential}")
        return None
    named = adapter.named(account_settings)
    return Account(adapter, adapter.owner_in(named), named)


def _no_channels(settings: S) -> dict[str, Any]:
    """The environment's values without its accounts: a tenant answers on its own only."""
    values = settings.model_dump()
    for adapter in ADAPTERS:
        for setting in set(adapter.account_keys.values()) - adapter.account_shared:
            field = type(settings).model_fields[setting]
            values[setting] = field.get_default(call_default_factory=True)
    return values


def _validated(
    settings: S,
    values: dict[str, Any],
    where: str,
    problems: list[str],
    base: dict[str, Any],
    names: Mapping[str, str] | None = None,
) -> S | None:
    """``base`` with ``values`` over it, checked as ``settings``'s class checks the
    environment; its mistakes said at ``where``, in the file's key names."""
    fields = type(settings).model_fields
    known = {key: value for key, value in values.items() if key in fields}
    try:
        return type(settings).model_validate(base | known)
    except ValidationError as error:
        for problem in error.errors():
            problems.append(problem_line(problem, where, names or {}))
        return None


def tenants_at_start(settings: S) -> list[Tenant[S]]:
    """The tenants, or the process stops with every mistake of TENANTS_FILE, one line each."""
    try:
        return read_tenants(settings)
    except TenantsFileError as error:
        lines = (f"batchbot cannot start: {line}" for line in error.lines)
        raise ConfigError("\n".join(lines)) from None


def tenant_secrets(tenants: list[Tenant[S]]) -> list[str]:
    """What no log line may show: every account's token, every console token."""
    found = [tenant.console_token for tenant in tenants if tenant.console_token]
    for tenant in tenants:
        found += secrets_of(tenant.settings)
        for account in tenant.accounts:
            found += secrets_of(account.settings)
    return found
