"""The Meta listener: one aiohttp server for every channel Meta delivers to, each at
``/webhook/<channel>`` (``whatsapp``, ``instagram``, ``messenger``); every message goes
into its person's pending batch, exactly as a Telegram message does.

The listener only routes bytes: each channel's adapter verifies and parses them
(:class:`channels.base.WebhookIntake`), and :class:`bot.intake.StoringIntake` stores them.

- ``GET``: Meta's verification handshake (``hub.challenge`` echoed for the right
  ``hub.verify_token``, 403 otherwise).
- ``POST``: the signature is checked on the raw bytes before anything is parsed (401
  if wrong); 200 only once every message of the delivery is stored (every deleted one
  removed, every reply a person of the business wrote taken as a takeover); 503 when
  Redis does not take them within WEBHOOK_STORE_TIMEOUT_SECONDS, so Meta delivers again
  (a message stored before the failure is then dropped as a duplicate by its id); 400
  for a body that is not a delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from aiohttp import web

from bot.intake import StoringIntake
from bot.settings import BotSettings
from channels.base import Delivery, NotADelivery, NotStored, WebhookIntake
from channels.registry import adapters_of
from shared import metrics
from shared.listening import listen

log = logging.getLogger("batchbot.meta")

MAX_DELIVERY_BYTES = 3 * 1024 * 1024
"""Meta's deliveries are a few kilobytes (media come as ids or links, not bytes)."""


class MetaWebhook:
    """One channel's two routes, for every account of it the deployment serves: each
    account's messages go to its tenant's intake (``intakes``, by account id)."""

    def __init__(self, webhook: WebhookIntake, intakes: Mapping[str, StoringIntake]) -> None:
        self.webhook = webhook
        self.name = webhook.channel.value
        self.intakes = intakes

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription check when the webhook URL is saved in the app's settings."""
        query = request.query
        if self.webhook.subscribes(query.get("hub.mode"), query.get("hub.verify_token")):
            log.info("%s webhook verified by Meta", self.name)
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning(
            "%s webhook verification refused: wrong hub.verify_token or hub.mode", self.name
        )
        return web.Response(status=403, text="wrong hub.verify_token or hub.mode")

    async def receive(self, request: web.Request) -> web.Response:
        return await self.take(await request.read(), request.headers)

    async def take(self, raw: bytes, headers: Mapping[str, str]) -> web.Response:
        """One delivery's bytes and headers, to the answer Meta gets."""
        if not self.webhook.authentic(raw, headers):
            self._count("refused_signature")
            log.warning("%s delivery refused: %s", self.name, self.webhook.not_authentic)
            return web.Response(status=401, text=self.webhook.not_authentic)
        try:
            delivery = self.webhook.parse(raw)
        except NotADelivery as error:
            self._count("not_a_delivery")
            log.warning("%s delivery refused: %s", self.name, error)
            return web.Response(status=400, text=str(error))
        try:
            await self._store_all(delivery)
        except NotStored as error:
            self._count("not_stored")
            log.warning("%s not stored (%s); answered 503 so Meta retries", error, error.cause)
            return web.Response(status=503, text="not stored; deliver it again later")
        self._count("stored")
        return web.Response(text="ok")

    async def _store_all(self, delivery: Delivery) -> None:
        for inbound in delivery.messages:
            if intake := self._served(inbound.account, inbound.message.message_id):
                await intake.message(self.webhook.channel, inbound.author, inbound.message)
        for removal in delivery.removals:
            if intake := self._served(removal.account, removal.message_id):
                await intake.removal(removal)
        for reply in delivery.human_replies:
            if intake := self._served(reply.account, "(a reply of the business)"):
                await intake.human_reply(reply)

    def _served(self, account: str, message_id: object) -> StoringIntake | None:
        intake = self.intakes.get(account)
        if intake is None:
            log.warning(
                "%s message %s to account %s ignored: this deployment serves %s %s",
                self.name,
                message_id,
                account,
                self.webhook.account_setting,
                ", ".join(self.intakes),
            )
        return intake

    def _count(self, result: str) -> None:
        metrics.WEBHOOK_REQUESTS.labels(self.name, result).inc()


def configured_webhooks(intake: StoringIntake, settings: BotSettings) -> list[MetaWebhook]:
    """A webhook for every channel Meta delivers to that the environment configures
    (``channels.registry``), all into one intake."""
    webhooks = [adapter.webhook() for adapter in adapters_of(settings)]
    return [MetaWebhook(w, {w.account: intake}) for w in webhooks if w is not None]


class MetaListener:
    """The routes of every Meta channel, at ``/webhook/<channel>``; the webhooks can be
    replaced while it serves (TENANTS_FILE reloaded), a channel none serves is 404."""

    def __init__(self, webhooks: Sequence[MetaWebhook]) -> None:
        self.replace(webhooks)

    def replace(self, webhooks: Sequence[MetaWebhook]) -> None:
        self.webhooks = {webhook.name: webhook for webhook in webhooks}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_DELIVERY_BYTES)
        app.router.add_get("/webhook/{channel}", self._verify)
        app.router.add_post("/webhook/{channel}", self._receive)
        return app

    def _webhook(self, request: web.Request) -> MetaWebhook:
        webhook = self.webhooks.get(request.match_info["channel"])
        if webhook is None:
            served = ", ".join(f"/webhook/{name}" for name in self.webhooks) or "none"
            raise web.HTTPNotFound(text=f"no account of this channel is served here ({served})")
        return webhook

    async def _verify(self, request: web.Request) -> web.Response:
        return await self._webhook(request).verify(request)

    async def _receive(self, request: web.Request) -> web.Response:
        return await self._webhook(request).receive(request)


def meta_app(webhooks: Sequence[MetaWebhook]) -> web.Application:
    return MetaListener(webhooks).app()


async def serve_meta(listener: MetaListener, settings: BotSettings) -> web.AppRunner:
    """Start the Meta listener; the caller cleans it up."""
    runner = web.AppRunner(listener.app(), access_log=None)
    await runner.setup()
    host, port = settings.meta_listen_host, settings.meta_listen_port
    await listen(runner, host, port, "META_LISTEN_PORT (or WHATSAPP_LISTEN_PORT)")
    paths = ", ".join(f"/webhook/{name}" for name in listener.webhooks)
    log.info("Meta webhooks: listening on %s, paths %s", runner.addresses, paths)
    return runner
