"""Which tenant a conversation belongs to, and TENANTS_FILE watched for changes.

A conversation id names its account (``wa:<phone number id>:...``, ``tg:<bot id>:...``),
so the tenant is found from the id alone, once, where a batch or a request enters; the
environment's accounts, whose ids name none (Telegram's bare ids, or a worker that was
not told WHATSAPP_PHONE_NUMBER_ID), take the conversations of their channel that no
other account claims.

The file is read again when it changes (its size or modification time, looked at every
TENANTS_RELOAD_SECONDS): an orchestrator updates a mounted file without signalling each
replica, and every process, bot and workers alike, sees the change on its own. A file
with a mistake is refused whole, logged one line per mistake, and the tenants in use
stay as they were.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic

from channels.adapter import NoRecipient
from channels.registry import adapter_class
from config.tenants import Account, S, Tenant, TenantsFileError, read_tenants
from shared.keys import channel_of
from shared.models import Channel
from shared.proactive import Addressee

log = logging.getLogger("batchbot.tenants")

_ACCOUNT_FIELD = {Channel.TELEGRAM: "bot_id", Channel.WHATSAPP: "phone_number_id"}
"""The request field that names an account of the channel (Instagram's, Messenger's:
``account_id``)."""


@dataclass(frozen=True, slots=True)
class Route(Generic[S]):
    tenant: Tenant[S]
    account: Account[S]


class Routes(Generic[S]):
    """Every tenant's accounts, by the account their conversation ids name."""

    def __init__(self, tenants: list[Tenant[S]]) -> None:
        self.tenants = tenants
        self._by_owner: dict[tuple[Channel, str | None], Route[S]] = {}
        self._by_name = {tenant.name: tenant for tenant in tenants}
        for tenant in tenants:
            for account in tenant.accounts:
                self._by_owner[(account.channel, account.owner)] = Route(tenant, account)
        self._unnamed = {
            channel: route for (channel, owner), route in self._by_owner.items() if owner is None
        }

    def route(self, conversation: str) -> Route[S] | None:
        """The tenant and account of a conversation; None when no tenant serves its
        account any more (a tenant removed from the file)."""
        channel = channel_of(conversation)
        owner = adapter_class(channel).owner_of(conversation)
        found = self._by_owner.get((channel, owner))
        if found is not None:
            return found
        if channel == Channel.TELEGRAM and owner is not None:
            return None  # a TENANTS_FILE bot's conversation: never the environment's bot
        return self._unnamed.get(channel)

    def tenant(self, name: str) -> Tenant[S] | None:
        return self._by_name.get(name)

    def conversation_for(self, addressee: Addressee) -> str:
        """A proactive or handoff request's conversation: the account it names (a number,
        a Page, a bot id), else its tenant's only account of the channel, else the
        deployment's only one; NoRecipient saying what to name when that is not one."""
        channel = addressee.channel
        adapter = adapter_class(channel)
        tenants = self.tenants
        if addressee.tenant is not None:
            tenants = [t for t in tenants if t.name == addressee.tenant]
            if not tenants:
                raise NoRecipient(f"no tenant {addressee.tenant!r} is served here (TENANTS_FILE)")
        accounts = [a for t in tenants for a in t.accounts if a.channel == channel]
        named = adapter.account_named(addressee)
        if named is not None:  # an account the environment's may write from, as before
            exact = [a for a in accounts if adapter.identity_in(a.settings) == named]
            accounts = exact or [a for a in accounts if a.owner is None]
        if not accounts:
            what = f"{channel.value} account {named}" if named else f"{channel.value} account"
            raise NoRecipient(f"no {what} is served here (set {adapter.credential} or add it "
                              "to a tenant in TENANTS_FILE)")  # fmt: skip
        if len(accounts) > 1:
            raise NoRecipient(
                f"{len(accounts)} {channel.value} accounts could write this; name one with "
                f"{_ACCOUNT_FIELD.get(channel, 'account_id')} or tenant"
            )
        account = accounts[0]
        return account.adapter(account.settings).conversation_for(addressee)

    @property
    def several(self) -> bool:
        return len(self.tenants) > 1


@dataclass
class TenantsWatch(Generic[S]):
    """Reads TENANTS_FILE again when it changes and hands the new tenants on."""

    settings: S
    on_change: Callable[[list[Tenant[S]]], Awaitable[None]]
    _seen: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        self._seen = self._stamp()
        self._one_at_a_time = asyncio.Lock()

    def _stamp(self) -> tuple[int, int] | None:
        path = self.settings.tenants_file
        if path is None:
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.tenants_reload_seconds)
            try:
                await self.check()
            except Exception:
                log.exception("tenants: reload failed; the tenants in use stay")

    async def check(self) -> bool:
        """Reload when the file changed; whether it was reloaded (or was being reloaded:
        a caller waits for the reload under way)."""
        if self._one_at_a_time.locked():
            async with self._one_at_a_time:
                return True
        async with self._one_at_a_time:
            return await self._reload_if_changed()

    async def _reload_if_changed(self) -> bool:
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return False
        self._seen = stamp
        try:
            tenants = read_tenants(self.settings)
        except TenantsFileError as error:
            for line in error.lines:
                log.error("tenants not reloaded: %s", line)
            return False
        await self.on_change(tenants)
        log.info("tenants reloaded from TENANTS_FILE: %s", described(tenants))
        return True


def described(tenants: list[Tenant[S]]) -> str:
    """``bistro (telegram 111111, whatsapp 1001), salon (...)``, for one log line."""
    said = []
    for tenant in tenants:
        accounts = ", ".join(
            f"{a.channel.value} {a.owner or '(environment)'}" for a in tenant.accounts
        )
        said.append(f"{tenant.name} ({accounts})")
    return "; ".join(said) or "none"
