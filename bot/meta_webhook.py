"""The Meta listener: one aiohttp server for every channel Meta delivers to, each at
``/webhook/<channel>`` (``whatsapp``, ``instagram``, ``messenger``); every message goes
into its person's pending batch, exactly as a Telegram message does.

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

import hmac
import logging
from collections.abc import Sequence

from aiohttp import web
from redis.exceptions import RedisError

from bot.intake import NotStored, record, store_until_done, until_stored
from bot.listening import listen
from bot.settings import BotSettings
from channels.base import Delivery, HumanReply, Inbound, NotADelivery, Removal, WebhookIntake
from channels.meta.signature import signature_matches
from shared import metrics
from shared.handoff import Handoffs, takeover_is_off
from shared.store import BatchStore

log = logging.getLogger("batchbot.meta")

MAX_DELIVERY_BYTES = 3 * 1024 * 1024
"""Meta's deliveries are a few kilobytes (media come as ids or links, not bytes)."""


def webhook_path(intake: WebhookIntake) -> str:
    return f"/webhook/{intake.channel.value}"


class MetaWebhook:
    """One channel's two routes, holding what they need."""

    def __init__(self, intake: WebhookIntake, store: BatchStore, settings: BotSettings) -> None:
        assert settings.meta_app_secret is not None
        assert settings.meta_verify_token is not None
        self.intake = intake
        self.name = intake.channel.value
        self.store = store
        self.settings = settings
        self.rules = settings.batching_rules()
        self.handoffs = Handoffs(store.redis, settings.redis_key_ttl_seconds, store.scripts)
        self._secret = settings.meta_app_secret.get_secret_value()
        self._verify_token = settings.meta_verify_token.get_secret_value()

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(webhook_path(self.intake), self.verify)
        app.router.add_post(webhook_path(self.intake), self.receive)

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription check when the webhook URL is saved in the app's settings."""
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), self._verify_token.encode()
        ):
            log.info("%s webhook verified by Meta", self.name)
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning(
            "%s webhook verification refused: wrong hub.verify_token or hub.mode", self.name
        )
        return web.Response(status=403, text="wrong hub.verify_token or hub.mode")

    async def receive(self, request: web.Request) -> web.Response:
        return await self.take(await request.read(), request.headers.get("X-Hub-Signature-256"))

    async def take(self, raw: bytes, signature: str | None) -> web.Response:
        """One delivery's bytes and signature header, to the answer Meta gets."""
        if not signature_matches(self._secret, raw, signature):
            self._count("refused_signature")
            log.warning("%s delivery refused: X-Hub-Signature-256 missing or wrong", self.name)
            return web.Response(
                status=401, text="X-Hub-Signature-256 does not sign this body with the app secret"
            )
        try:
            delivery = self.intake.parse(raw)
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
            if self._served(inbound.account, inbound.message.message_id):
                await self._store(inbound)
        for removal in delivery.removals:
            if self._served(removal.account, removal.message_id):
                await self._remove(removal)
        for reply in delivery.human_replies:
            if self._served(reply.account, "(a reply of the business)"):
                await self._take_over(reply)

    def _served(self, account: str, message_id: object) -> bool:
        if account == self.intake.account:
            return True
        log.warning(
            "%s message %s to account %s ignored: this deployment serves %s %s",
            self.name,
            message_id,
            account,
            self.intake.account_setting,
            self.intake.account,
        )
        return False

    async def _store(self, inbound: Inbound) -> None:
        result = await store_until_done(
            self.store,
            inbound.author,
            inbound.message,
            self.rules,
            self.settings.webhook_store_timeout_seconds,
        )
        record(result, self.intake.channel, inbound.author.conversation, inbound.message)

    async def _remove(self, removal: Removal) -> None:
        try:
            removed = await self.store.remove_pending(removal.conversation, removal.message_id)
        except (RedisError, OSError) as error:
            raise NotStored(f"deletion of {removal.message_id}") from error
        log.info(
            "deletion of message %s of %s %s",
            removal.message_id,
            removal.conversation,
            "removed its pending copy" if removed else "came after its batch went; ignored",
            extra={"conversation": removal.conversation, "message_id": str(removal.message_id)},
        )

    async def _take_over(self, reply: HumanReply) -> None:
        """A person of the business answered the customer: the assistant steps back."""
        seconds = self.settings.handoff_seconds
        if takeover_is_off(seconds):
            return  # takeover off (HANDOFF_SECONDS=0)
        await until_stored(
            lambda: self.handoffs.take_over(
                reply.conversation, "owner", seconds, reply.said, reply.message_id
            ),
            f"takeover of {reply.conversation}",
            self.settings.webhook_store_timeout_seconds,
        )

    def _count(self, result: str) -> None:
        metrics.WEBHOOK_REQUESTS.labels(self.name, result).inc()


def configured_webhooks(store: BatchStore, settings: BotSettings) -> list[MetaWebhook]:
    """A webhook for every configured channel Meta delivers to (``channels.registry``)."""
    return [
        MetaWebhook(entry.webhook(settings), store, settings)
        for entry in settings.configured_entries
        if entry.webhook is not None
    ]


def meta_app(webhooks: Sequence[MetaWebhook]) -> web.Application:
    app = web.Application(client_max_size=MAX_DELIVERY_BYTES)
    for webhook in webhooks:
        webhook.add_routes(app)
    return app


async def serve_meta(webhooks: Sequence[MetaWebhook], settings: BotSettings) -> web.AppRunner:
    """Start the Meta listener with a route pair per channel; the caller cleans it up."""
    runner = web.AppRunner(meta_app(webhooks), access_log=None)
    await runner.setup()
    host, port = settings.meta_listen_host, settings.meta_listen_port
    await listen(runner, host, port, "META_LISTEN_PORT (or WHATSAPP_LISTEN_PORT)")
    paths = ", ".join(webhook_path(webhook.intake) for webhook in webhooks)
    log.info("Meta webhooks: listening on %s, paths %s", runner.addresses, paths)
    return runner
