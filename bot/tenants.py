"""The bot's side of many tenants: each tenant's intake (its batching rules), a receiver
per Telegram bot, and the Meta listener's accounts, replaced as TENANTS_FILE changes.

The tenant is resolved here, once, where a message enters: a Telegram bot's receiver is
handed its tenant's intake, and the Meta listener finds the intake by the account a
delivery is for. Nothing below the intake knows there are tenants.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bot.intake import StoringIntake
from bot.meta_webhook import MetaListener, MetaWebhook
from bot.settings import BotSettings
from channels.adapter import ChannelAdapter
from channels.base import WebhookIntake
from config.tenancy import Routes
from config.tenants import Account, Tenant, tenant_secrets
from shared.logs import redact_also, serving_tenant
from shared.redaction import secrets_of
from shared.settings import ConfigError
from shared.store import BatchStore

log = logging.getLogger("batchbot.bot")


def receiver_key(account: Account[BotSettings]) -> str:
    """A bot's receiver runs again when anything it was started with changes, its token
    included (which the settings' JSON shows only as stars)."""
    return "\x00".join([account.settings.model_dump_json(), *secrets_of(account.settings)])


class ReceiverRefused(Exception):
    """A receiver's start-up error (a refused token), held by its task as any error is:
    a ConfigError is a SystemExit, which a task does not hold but throws at the loop."""


async def _receive(adapter: ChannelAdapter, intake: StoringIntake) -> None:
    serving_tenant(intake.tenant)
    try:
        await adapter.receive(intake)
    except ConfigError as error:
        raise ReceiverRefused(str(error)) from None


class BotTenants:
    """Every tenant's receivers and intakes, kept as the tenants change."""

    def __init__(self, store: BatchStore, settings: BotSettings) -> None:
        self.store = store
        self.settings = settings
        self.meta = MetaListener([])
        self.routes: Routes[BotSettings] = Routes([])
        self._receivers: dict[str, asyncio.Task[None]] = {}
        self._from_start: set[str] = set()
        """Receivers started with the process: a refused token ends the bot, as it did
        before tenants. One a reload started only logs why its bot is not served."""

    def current_routes(self) -> Routes[BotSettings]:
        """Every tenant's accounts as they are now (for ``/proactive`` and ``/handoff``)."""
        return self.routes

    @property
    def receives_from_meta(self) -> bool:
        return bool(self.meta.webhooks)

    async def apply(self, tenants: list[Tenant[BotSettings]]) -> None:
        """Start what is new, stop what is gone; a receiver that did not change goes on."""
        redact_also(tenant_secrets(tenants))
        self.routes = Routes(tenants)
        named = self.settings.tenants_file is not None  # log lines name the tenant
        intakes = {
            t.name: StoringIntake.of(self.store, t.settings, t.name if named else None)
            for t in tenants
        }
        self.meta.replace(self._meta_webhooks(tenants, intakes))
        wanted: dict[str, tuple[Account[BotSettings], StoringIntake]] = {}
        for tenant in tenants:
            for account in tenant.accounts:
                if account.adapter(account.settings).receives_on_its_own:
                    wanted[receiver_key(account)] = (account, intakes[tenant.name])
        for key in set(self._receivers) - set(wanted):
            await self._stop(key)
        first = not self._receivers and not self._from_start
        for key, (account, intake) in wanted.items():
            if key not in self._receivers:
                adapter = account.adapter(account.settings)
                self._receivers[key] = asyncio.create_task(_receive(adapter, intake))
                if first:
                    self._from_start.add(key)

    @staticmethod
    def _meta_webhooks(
        tenants: list[Tenant[BotSettings]], intakes: dict[str, StoringIntake]
    ) -> list[MetaWebhook]:
        by_channel: dict[str, tuple[WebhookIntake, dict[str, StoringIntake]]] = {}
        for tenant in tenants:
            for account in tenant.accounts:
                webhook = account.adapter(account.settings).webhook()
                if webhook is not None:
                    _, accounts = by_channel.setdefault(webhook.channel.value, (webhook, {}))
                    accounts[webhook.account] = intakes[tenant.name]
        return [MetaWebhook(webhook, accounts) for webhook, accounts in by_channel.values()]

    def _ended(self, key: str, task: asyncio.Task[None]) -> None:
        error = None if task.cancelled() else task.exception()
        if isinstance(error, ReceiverRefused) and key in self._from_start:
            raise ConfigError(str(error))  # ends the bot, as with one bot
        if error is not None and key in self._from_start:
            raise error
        if error is not None:
            log.error("a bot added from TENANTS_FILE stopped: %s; fix the file to retry", error)

    async def _stop(self, key: str) -> None:
        """A removed bot's receiver: what it fetched and had not stored stays unconfirmed
        at Telegram, for whichever receiver takes the bot next."""
        task = self._receivers.pop(key)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``; a receiver that ends on its own (a refused token) ends the bot
        as it did with one bot, unless the tenants changed meanwhile."""
        while not stop.is_set():
            waiting = asyncio.ensure_future(stop.wait())
            tasks = {waiting, *self._receivers.values()}
            done, _ = await asyncio.wait(tasks, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            for key, task in list(self._receivers.items()):
                if task in done:
                    del self._receivers[key]
                    self._ended(key, task)
        await asyncio.gather(*self._receivers.values(), return_exceptions=True)
