"""The console for one tenant: a tenant's ``console_token`` (TENANTS_FILE) shows only that
tenant's conversations, dead letters and takeovers, and lets it act on those only.

The console finds a conversation's tenant as the workers do, from the account its id
names (:mod:`config.tenancy`), and reads the file again when it changes. What is the
deployment's, not a tenant's (the workers, the rates of every tenant together), is not
shown to a tenant.
"""

from __future__ import annotations

import hmac
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the channels pull in aiogram: seconds a batchctl without tenants skips
    from channels.registry import ChannelSettings
    from config.tenancy import Routes, TenantsWatch
    from config.tenants import Tenant

DEPLOYMENT_ONLY = ("workers", "rates")
SCOPED_LISTS = ("pending", "in_flight", "dead_letters", "paused")


class ConsoleTenants:
    """Tenants' console tokens, and which conversations each may see."""

    def __init__(self, settings: ChannelSettings | None) -> None:
        self._routes: Routes[ChannelSettings] | None = None
        self._watch: TenantsWatch[ChannelSettings] | None = None
        if settings is not None and settings.tenants_file is not None:
            from config.tenancy import TenantsWatch  # noqa: PLC0415 (see above)
            from config.tenants import read_tenants  # noqa: PLC0415

            self._use(read_tenants(settings))
            self._watch = TenantsWatch(settings, self._apply)

    @classmethod
    def of_environment(cls) -> ConsoleTenants:
        """TENANTS_FILE's tenants when the environment names the file (TenantsFileError
        with its mistakes); none otherwise."""
        if not os.environ.get("TENANTS_FILE"):
            return cls(None)
        from channels.registry import ChannelSettings  # noqa: PLC0415 (see above)
        from shared.settings import load_settings  # noqa: PLC0415

        return cls(load_settings(ChannelSettings))

    @property
    def any(self) -> bool:
        """Whether some tenant has a console token (it may read beyond loopback)."""
        tenants = self._routes.tenants if self._routes is not None else []
        return any(tenant.console_token for tenant in tenants)

    def _use(self, tenants: list[Tenant[ChannelSettings]]) -> None:
        from config.tenancy import Routes  # noqa: PLC0415 (see above)

        self._routes = Routes(tenants)

    async def _apply(self, tenants: list[Tenant[ChannelSettings]]) -> None:
        self._use(tenants)

    async def tenant_of_token(self, given: str) -> str | None:
        """The tenant whose console token this is (the file read again if it changed)."""
        if self._watch is not None:
            await self._watch.check()
        for tenant in self._routes.tenants if self._routes is not None else []:
            token = tenant.console_token
            if token is not None and hmac.compare_digest(given.encode(), token.encode()):
                return tenant.name
        return None

    def tenant_of(self, conversation: str) -> str | None:
        """The tenant serving the conversation's account (TENANTS_FILE), if any."""
        route = self._routes.route(conversation) if self._routes is not None else None
        return route.tenant.name if route is not None else None

    def owns(self, tenant: str, conversation: str) -> bool:
        return self.tenant_of(conversation) == tenant

    def only(self, state: dict[str, Any], tenant: str) -> dict[str, Any]:
        """The console's state as one tenant may see it."""
        shown = {key: value for key, value in state.items() if key not in DEPLOYMENT_ONLY}
        for key in SCOPED_LISTS:
            shown[key] = [row for row in state[key] if self.owns(tenant, row["conversation"])]
        newest = state["undelivered"]["newest"]
        mine = [entry for entry in newest if self.owns(tenant, str(entry.get("conversation")))]
        shown["undelivered"] = {"total": len(mine), "newest": mine}
        shown["totals"] = {
            "pending_conversations": len(shown["pending"]),
            "batches_running": len(shown["in_flight"]),
            "dead_letters": len(shown["dead_letters"]),
        }
        shown["tenant"] = tenant
        return shown
