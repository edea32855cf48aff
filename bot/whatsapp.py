"""WhatsApp's webhook: Meta POSTs deliveries to ``/webhook/whatsapp``; every message goes
into its person's pending batch, exactly as a Telegram message does.

- ``GET``: Meta's verification handshake (``hub.challenge`` echoed for the right
  ``hub.verify_token``, 403 otherwise).
- ``POST``: the signature is checked on the raw bytes before anything is parsed (401
  if wrong); 200 only once every message of the delivery is stored; 503 when Redis does
  not take them within WEBHOOK_STORE_TIMEOUT_SECONDS, so Meta delivers again (a message
  stored before the failure is then dropped as a duplicate by its wamid); 400 for a
  body that is not a delivery.
"""

from __future__ import annotations

import hmac
import logging

from aiohttp import web

from bot.handlers import MessageNotStored, record, store_until_done
from bot.listening import listen
from bot.sender import Sender
from bot.settings import BotSettings
from channels.whatsapp import Inbound, NotADelivery, parse_delivery, signature_matches
from shared import metrics
from shared.models import Channel
from shared.store import BatchStore

log = logging.getLogger("batchbot.whatsapp")

WEBHOOK_PATH = "/webhook/whatsapp"
MAX_DELIVERY_BYTES = 3 * 1024 * 1024
"""Meta's deliveries are a few kilobytes (media come as ids, not bytes)."""


class WhatsAppWebhook:
    """The two routes, holding what they need; :meth:`app` builds the aiohttp app."""

    def __init__(self, store: BatchStore, settings: BotSettings) -> None:
        assert settings.whatsapp_app_secret is not None
        assert settings.whatsapp_verify_token is not None
        self.store = store
        self.settings = settings
        self.rules = settings.batching_rules()
        self._secret = settings.whatsapp_app_secret.get_secret_value()
        self._verify_token = settings.whatsapp_verify_token.get_secret_value()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_DELIVERY_BYTES)
        app.router.add_get(WEBHOOK_PATH, self.verify)
        app.router.add_post(WEBHOOK_PATH, self.receive)
        return app

    async def verify(self, request: web.Request) -> web.Response:
        """Meta's subscription check when the webhook URL is saved in the app's settings."""
        query = request.query
        token = query.get("hub.verify_token", "")
        if query.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), self._verify_token.encode()
        ):
            log.info("WhatsApp webhook verified by Meta")
            return web.Response(text=query.get("hub.challenge", ""))
        log.warning("WhatsApp webhook verification refused: wrong hub.verify_token or hub.mode")
        return web.Response(status=403, text="wrong hub.verify_token or hub.mode")

    async def receive(self, request: web.Request) -> web.Response:
        return await self.take(await request.read(), request.headers.get("X-Hub-Signature-256"))

    async def take(self, raw: bytes, signature: str | None) -> web.Response:
        """One delivery's bytes and signature header, to the answer Meta gets."""
        if not signature_matches(self._secret, raw, signature):
            _count("refused_signature")
            log.warning("WhatsApp delivery refused: X-Hub-Signature-256 missing or wrong")
            return web.Response(
                status=401, text="X-Hub-Signature-256 does not sign this body with the app secret"
            )
        try:
            delivery = parse_delivery(raw)
        except NotADelivery as error:
            _count("not_a_delivery")
            log.warning("WhatsApp delivery refused: %s", error)
            return web.Response(status=400, text=str(error))
        try:
            for inbound in delivery.messages:
                await self._store(inbound)
        except MessageNotStored as error:
            _count("not_stored")
            log.warning("%s not stored (Redis unreachable); answered 503 so Meta retries", error)
            return web.Response(status=503, text="not stored; deliver it again later")
        _count("stored")
        return web.Response(text="ok")

    async def _store(self, inbound: Inbound) -> None:
        if inbound.phone_number_id != self.settings.whatsapp_phone_number_id:
            log.warning(
                "WhatsApp message %s to phone number id %s ignored: this deployment serves "
                "WHATSAPP_PHONE_NUMBER_ID %s",
                inbound.message.message_id,
                inbound.phone_number_id,
                self.settings.whatsapp_phone_number_id,
            )
            return
        sender = Sender(chat=inbound.chat, user=inbound.user, conversation=inbound.conversation)
        result = await store_until_done(
            self.store,
            sender,
            inbound.message,
            self.rules,
            self.settings.webhook_store_timeout_seconds,
        )
        record(result, Channel.WHATSAPP, inbound.conversation, inbound.message)


def _count(result: str) -> None:
    metrics.WEBHOOK_REQUESTS.labels(Channel.WHATSAPP.value, result).inc()


async def serve_whatsapp(store: BatchStore, settings: BotSettings) -> web.AppRunner:
    """Start the webhook server; the caller cleans the runner up."""
    runner = web.AppRunner(WhatsAppWebhook(store, settings).app(), access_log=None)
    await runner.setup()
    host, port = settings.whatsapp_listen_host, settings.whatsapp_listen_port
    await listen(runner, host, port, "WHATSAPP_LISTEN_PORT")
    log.info("WhatsApp webhook: listening on %s, path %s", runner.addresses, WEBHOOK_PATH)
    return runner
