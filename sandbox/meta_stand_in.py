"""What every Meta stand-in (WhatsApp's Cloud API, the Send API) does the same way: serve
its routes on loopback, and POST signed webhook deliveries to the bot, as Meta does."""

from __future__ import annotations

import json
from typing import Any

import httpx
from aiohttp import web

from channels.meta.signature import signature_of


class MetaStandIn:
    """Mixed into a stand-in dataclass that has ``app_secret`` and ``webhook_url``."""

    app_secret: str
    webhook_url: str
    url: str = ""
    _runner: web.AppRunner | None = None
    _http: httpx.AsyncClient | None = None

    async def serve(self, app: web.Application, port: int) -> str:
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._http = httpx.AsyncClient(timeout=30)
        return self.url

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._runner is not None:
            await self._runner.cleanup()

    async def deliver(self, delivery: dict[str, Any] | bytes, signature: str | None = None) -> int:
        """POST a delivery to the bot's webhook, signed with the app secret unless
        ``signature`` is given; returns the HTTP status the bot answered."""
        assert self._http is not None and self.webhook_url, "start() and set webhook_url first"
        body = delivery if isinstance(delivery, bytes) else json.dumps(delivery).encode()
        header = signature if signature is not None else signature_of(self.app_secret, body)
        response = await self._http.post(
            self.webhook_url,
            content=body,
            headers={"Content-Type": "application/json", "X-Hub-Signature-256": header},
        )
        return response.status_code
