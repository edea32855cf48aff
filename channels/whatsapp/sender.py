"""Replies through the WhatsApp Cloud API: ``POST {WHATSAPP_API_URL}/<phone number id>/messages``.

Each conversation names the business number the person wrote to, so the answer comes
from that number. The Graph API's errors are mapped onto :mod:`channels.outcomes`:
a closed 24-hour window or an unreachable person stops the reply (a dead letter with
the reason), rate limits and server errors are retried like Telegram's, and a refused
access token is a dead letter plus a critical log line, since nothing can be sent
until an operator replaces it.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx

from channels.base import Limits, Recipient
from channels.markup import plain_text
from channels.media import Media, MediaUnavailable, too_large
from channels.meta.graph import graph_error
from channels.outcomes import (
    CredentialsRefused,
    DeliveryFailed,
    RecipientGone,
    Refused,
    RetryAfter,
    Unavailable,
)
from channels.whatsapp.conversations import parts_of
from shared import metrics
from shared.models import Channel, IncomingMessage, MessageId

log = logging.getLogger("batchbot.whatsapp")

WHATSAPP_LIMITS = Limits(text=4096, caption=1024)
TYPING_REFRESH_SECONDS = 20.0
"""WhatsApp shows the typing indicator for up to 25 s, or until the reply arrives."""

WINDOW_CLOSED = 131047
UNREACHABLE = {131026, 131030, 131021, 131045, 131051}
"""Undeliverable, not on the test number's allowed list, the business's own number,
the number not registered, an unsupported type for this person: retrying cannot help."""
RATE_LIMITED = {4, 80007, 130429, 131048, 131056}
UNAVAILABLE = {1, 2, 131000, 131016}
TOKEN_REFUSED = 190


class WhatsAppSender:
    """Sends one reply part at a time to a WhatsApp user (see :class:`ChannelSender`)."""

    channel = Channel.WHATSAPP
    limits = WHATSAPP_LIMITS
    typing_refresh_seconds = TYPING_REFRESH_SECONDS
    keep_on_stop = False  # no drafts, no Stop button

    def __init__(
        self,
        api_url: str,
        access_token: str,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout_seconds,
            transport=transport,
        )

    async def send_text(
        self, to: Recipient, text: str, parse_mode: str | None, reply_to: MessageId | None
    ) -> None:
        body = {"type": "text", "text": {"body": plain_text(text, parse_mode)}}
        await self._send(to, body, reply_to)

    async def send_photo(
        self,
        to: Recipient,
        photo: str,
        caption: str | None,
        parse_mode: str | None,
        reply_to: MessageId | None,
    ) -> None:
        """``photo`` is a link (http or https) or the id of media uploaded to WhatsApp."""
        image: dict[str, str] = (
            {"link": photo} if photo.startswith(("https://", "http://")) else {"id": photo}
        )
        if caption:
            image["caption"] = plain_text(caption, parse_mode)
        await self._send(to, {"type": "image", "image": image}, reply_to)

    async def show_typing(self, to: Recipient) -> None:
        """Mark the batch's last message read and show 'typing…'. Best effort: nothing
        to mark for a proactive message, and a failure never holds up the answer."""
        if to.last_message_id is None:
            return
        phone_number_id, _ = parts_of(to.conversation)
        body = {
            "messaging_product": "whatsapp",
            "status": "read",
            "message_id": str(to.last_message_id),
            "typing_indicator": {"type": "text"},
        }
        try:
            response = await self._client.post(f"/{phone_number_id}/messages", json=body)
        except httpx.HTTPError as error:
            log.debug("typing indicator for %s failed: %s", to.conversation, error)
            return
        if response.is_error:
            log.debug("typing indicator for %s refused: %s", to.conversation, response.status_code)

    def shows_drafts(self, to: Recipient) -> bool:
        """WhatsApp has no drafts: the typing indicator shows while the answer is written."""
        return False

    async def show_draft(
        self, to: Recipient, draft_id: int, text: str, reasoning: str = ""
    ) -> bool:
        return False

    def edits_for(self, to: Recipient) -> None:
        """Sent messages cannot be edited here: the answer comes when it is complete."""
        return None

    async def fetch_media(self, message: IncomingMessage, max_bytes: int) -> Media:
        """The media's URL (and size) from the Graph API, then its bytes, both with the
        access token."""
        if message.file_id is None:
            raise MediaUnavailable("the message carries no media id")
        try:
            found = await self._client.get(f"/{message.file_id}")
            if not found.is_success:
                raise MediaUnavailable(f"WhatsApp refused the media id ({found.status_code})")
            about = found.json()
            if int(about.get("file_size") or 0) > max_bytes:
                raise too_large(int(about["file_size"]), max_bytes)
            url = about.get("url")
            if not isinstance(url, str):
                raise MediaUnavailable("WhatsApp gave no URL for the media")
            media = await self._client.get(url)
        except (httpx.HTTPError, ValueError) as error:
            raise MediaUnavailable(f"WhatsApp unreachable for the media: {error}") from error
        if not media.is_success:
            raise MediaUnavailable(f"WhatsApp refused the download ({media.status_code})")
        if len(media.content) > max_bytes:
            raise too_large(len(media.content), max_bytes)
        return Media(media.content, about.get("mime_type") or message.mime_type)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _send(self, to: Recipient, body: dict[str, Any], reply_to: MessageId | None) -> None:
        phone_number_id, wa_id = parts_of(to.conversation)
        payload: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": wa_id,
            **body,
        }
        if reply_to is not None:
            payload["context"] = {"message_id": str(reply_to)}
        try:
            response = await self._client.post(f"/{phone_number_id}/messages", json=payload)
        except httpx.HTTPError as error:
            _count("network")
            raise Unavailable(f"WhatsApp unreachable: {type(error).__name__}: {error}") from error
        if response.is_error:
            raise outcome_of(response)


def outcome_of(response: httpx.Response) -> DeliveryFailed:
    """What a Graph API error means for delivery (its code, else its HTTP status)."""
    error = graph_error(response)
    code, detail = error.code, error.detail
    said = f"WhatsApp error {code or response.status_code}: {detail}"
    if response.status_code == 401 or code == TOKEN_REFUSED:
        _count("token_refused")
        log.critical(
            "WhatsApp refused WHATSAPP_ACCESS_TOKEN (%s): replace it; nothing is sent", said
        )
        return CredentialsRefused(f"WhatsApp refused WHATSAPP_ACCESS_TOKEN: {said}")
    if code == WINDOW_CLOSED:
        _count("recipient_gone")
        return RecipientGone(
            f"the 24-hour customer-service window is closed ({said}); only a template "
            "message can reach this person until they write again"
        )
    if code in UNREACHABLE:
        _count("recipient_gone")
        return RecipientGone(f"the person cannot be reached ({said})")
    if response.status_code == 429 or code in RATE_LIMITED:
        _count("retry_after")
        wait = response.headers.get("Retry-After", "")
        if wait.isdigit():
            return RetryAfter(f"WhatsApp rate limit ({said})", float(wait))
        return Unavailable(f"WhatsApp rate limit ({said})")
    if response.status_code >= 500 or code in UNAVAILABLE:
        _count("server")
        return Unavailable(f"WhatsApp unavailable ({said})")
    _count("bad_request")
    return Refused(f"WhatsApp refused it ({said})")


def _count(kind: str) -> None:
    metrics.SEND_ERRORS.labels(Channel.WHATSAPP.value, kind).inc()
