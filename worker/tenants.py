"""The workers' side of many tenants: a batch's tenant is found from its conversation id
at the start of its job, once, and the job runs with that tenant's settings, backend,
history rules and the sender of the account the conversation is with
(:meth:`WorkerTenants.deps_for`). Nothing below the job's start knows there are tenants.

TENANTS_FILE's changes take effect at the next batch: a removed tenant's batches find
no account (``ChannelNotConfigured``) and become dead letters, kept for a replay; a
replaced backend or sender is closed once the batches that may still use it are done.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

from backend_client import BackendClient, OpenAIChatClient
from channels.adapter import ChannelAdapter
from channels.base import ChannelSender
from channels.registry import adapter_class
from config.tenancy import Routes, TenantsWatch, described
from config.tenants import Tenant, tenant_secrets, tenants_at_start
from shared.history import HistoryRules
from shared.keys import channel_of
from shared.logs import redact_also
from shared.models import Channel
from worker.backends import backend_of
from worker.fairness import unpark_forever
from worker.settings import WorkerProcessSettings

if TYPE_CHECKING:
    from worker.lifecycle import WorkerDeps

log = logging.getLogger("batchbot.worker")

Settings = WorkerProcessSettings


def history_rules(settings: Settings) -> HistoryRules:
    return HistoryRules(
        settings.history_turns, settings.history_max_bytes, settings.history_ttl_seconds
    )


class WorkerTenants:
    """Every tenant's backend and every account's sender, by conversation."""

    def __init__(self, base: WorkerDeps) -> None:
        self._base = base
        self.watch: TenantsWatch[Settings] | None = None
        """Looked at again before a conversation is found to have no tenant: a tenant
        added a moment ago may not have reached this worker's next look yet."""
        self.routes: Routes[Settings] = Routes([])
        self._views: dict[tuple[str, Channel, str | None], WorkerDeps] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._backends: dict[str, BackendClient | OpenAIChatClient] = {}
        self._former: dict[tuple[Channel, str | None], str] = {}
        """Every account seen since start and its last tenant: a batch of a removed
        tenant still says whose it was."""

    async def apply(self, tenants: list[Tenant[Settings]]) -> None:
        """Use these tenants from the next batch on."""
        self._backends = {}  # this reload's: the old ones close with the old views
        secrets = tenant_secrets(tenants)
        redact_also(secrets)
        redact = self._base.redact.also(secrets)
        old = list(self._views.values())
        views: dict[tuple[str, Channel, str | None], WorkerDeps] = {}
        for tenant in tenants:
            backend = self._backend(tenant.settings)
            for account in tenant.accounts:
                adapter = account.adapter(account.settings)
                self._former[(account.channel, account.owner)] = tenant.name
                views[(tenant.name, account.channel, account.owner)] = dataclasses.replace(
                    self._base,
                    settings=tenant.settings,
                    backend=backend,
                    adapters={account.channel: adapter},
                    senders={account.channel: self._sender(account.settings, adapter)},
                    history=history_rules(tenant.settings),
                    redact=redact,
                    tenant=tenant.name,
                )
        self.routes, self._views = Routes(tenants), views
        self._close_later(old)

    def _backend(self, settings: Settings) -> BackendClient | OpenAIChatClient:
        """Tenants asking the same backend alike share its client (its connections)."""
        key = _backend_key(settings)
        if key == _backend_key(self._base.settings):
            return self._base.backend
        if key not in self._backends:
            self._backends[key] = backend_of(settings)
        return self._backends[key]

    def _sender(self, settings: Settings, adapter: ChannelAdapter) -> ChannelSender:
        if settings is self._base.settings:
            return self._base.senders[adapter.channel]
        return adapter.make_sender(settings.typing_refresh_seconds)

    def deps_for(self, conversation: str) -> WorkerDeps | None:
        """The job's view of the worker: its tenant's settings, backend and sender; None
        when no tenant serves the conversation's account (any more)."""
        route = self.routes.route(conversation)
        if route is None:
            return None
        return self._views.get((route.tenant.name, route.account.channel, route.account.owner))

    def former_tenant(self, conversation: str) -> str | None:
        """The tenant that last served the conversation's account, if any did."""
        channel = channel_of(conversation)
        return self._former.get((channel, adapter_class(channel).owner_of(conversation)))

    async def resolve(self, conversation: str) -> WorkerDeps | None:
        """:meth:`deps_for`, after reading TENANTS_FILE again if it changed, when the
        conversation has no tenant: never a dead letter for a tenant just added."""
        view = self.deps_for(conversation)
        if view is None and self.watch is not None and await self.watch.check():
            view = self.deps_for(conversation)
        return view

    def sender_for(self, conversation: str) -> ChannelSender | None:
        deps = self.deps_for(conversation)
        return None if deps is None else next(iter(deps.senders.values()))

    def _close_later(self, old: list[WorkerDeps]) -> None:
        """A batch that started with the old backend or sender may still use it: closed a
        job's longest run later."""
        if not old:
            return
        delay = self._base.settings.recovery_seconds
        task = asyncio.create_task(_close_after(delay, old, self._base))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)


def _backend_key(settings: Settings) -> str:
    """What makes two backend clients the same: where, how, and with what credentials."""
    fields = ("backend_url", "backend_protocol", "backend_model", "backend_bearer_token",
              "backend_signing_secret", "backend_timeout_seconds")  # fmt: skip
    values = [str(getattr(settings, name)) for name in fields]
    tokens = [settings.backend_bearer_token, settings.backend_signing_secret]
    values += [t.get_secret_value() if t is not None else "" for t in tokens]
    return "\x00".join([*values, settings.system_prompt or ""])


async def _close_after(delay: float, views: list[WorkerDeps], base: WorkerDeps) -> None:
    await asyncio.sleep(delay)
    backends = {id(v.backend): v.backend for v in views if v.backend is not base.backend}
    for backend in backends.values():
        await backend.aclose()
    kept = {id(sender) for sender in base.senders.values()}
    for view in views:
        for sender in view.senders.values():
            if id(sender) not in kept:
                await sender.aclose()


async def serve_tenants(ctx: dict[str, Any], settings: Settings) -> None:
    """Every tenant of TENANTS_FILE (and the environment's), watched for changes; the
    job's view of the worker comes from here (``WorkerDeps.for_conversation``)."""
    tenants = WorkerTenants(ctx["deps"])
    served = tenants_at_start(settings)
    await tenants.apply(served)
    log.info("serving tenants: %s", described(served))
    ctx["deps"] = dataclasses.replace(ctx["deps"], tenants=tenants)
    tenants.watch = TenantsWatch(settings, tenants.apply)
    ctx["tenants_watch"] = asyncio.create_task(tenants.watch.run_forever())
    ctx["unpark_watch"] = asyncio.create_task(unpark_forever(ctx["redis"], tenants))
