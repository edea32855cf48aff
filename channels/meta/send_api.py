"""Replies through the Messenger Platform's Send API, the same for Instagram and Messenger:
``POST {API_URL}/<account id>/messages`` with the recipient's scoped id, a bearer token.

Text goes as ``message.text``; a photo as an image attachment by URL (an attachment
has no caption, so the caption follows as a text). "typing…" is ``sender_action``
``mark_seen`` then ``typing_on``. The Graph API's errors are mapped onto
:mod:`channels.outcomes`: outside the 24-hour window or a person who cannot be reached
stops the reply (a dead letter with the reason), rate limits and server errors are
retried, and a refused token is a dead letter plus a critical log line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
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
from shared import metrics
from shared.models import Channel, IncomingMessage, MessageId

log = logging.getLogger("batchbot.meta")

TYPING_REFRESH_SECONDS = 15.0
"""The Send API's typing indicator shows for about 20 s, or until the reply arrives."""
TOKEN_REFUSED = 190
OUTSIDE_WINDOW = (10, 2018278)
UNREACHABLE = {551, (100, 2018001), (200, 1545041), (10, 2018108)}
"""The person is not available, no such person, cannot receive messages from the account."""
RATE_LIMITED = {4, 17, 32, 613}
UNAVAILABLE = {1, 2}


OUR_METADATA = "batchbot"
"""Sent as every message's ``metadata``: Meta echoes it back (``message_echoes``), which is
how an echo of the bot's own message is told from one a person wrote in Meta's inbox (a
takeover: :mod:`channels.meta.messaging`)."""
OURS = {"metadata": OUR_METADATA}


class SendApiSender:
    """Sends one reply part at a time on Instagram or Messenger (see :class:`ChannelSender`)."""

    typing_refresh_seconds = TYPING_REFRESH_SECONDS
    keep_on_stop = False  # no drafts, no Stop button

    def __init__(
        self,
        channel: Channel,
        limits: Limits,
        recipient_of: Callable[[str], tuple[str, str]],
        api_url: str,
        access_token: str,
        token_setting: str,
        timeout_seconds: float,
    ) -> None:
        self.channel = channel
        self.limits = limits
        self._recipient_of = recipient_of
        self._token_setting = token_setting
        self._client = httpx.AsyncClient(
            base_url=api_url.rstrip("/"),
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout_seconds,
        )

    async def send_text(
        self, to: Recipient, text: str, parse_mode: str | None, reply_to: MessageId | None
    ) -> None:
        await self._send(to, {"message": {"text": plain_text(text, parse_mode), **OURS}})

    async def send_photo(
        self,
        to: Recipient,
        photo: str,
        caption: str | None,
        parse_mode: str | None,
        reply_to: MessageId | None,
    ) -> None:
        """``photo`` is a public http(s) link the platform fetches."""
        image = {"type": "image", "payload": {"url": photo, "is_reusable": True}}
        await self._send(to, {"message": {"attachment": image, **OURS}})
        if caption:
            await self.send_text(to, caption, parse_mode, None)

    async def show_typing(self, to: Recipient) -> None:
        """Best effort: a failure never holds up the answer."""
        actions = ["mark_seen", "typing_on"] if to.last_message_id is not None else ["typing_on"]
        for action in actions:
            try:
                response = await self._post(to, {"sender_action": action})
            except httpx.HTTPError as error:
                log.debug("%s for %s failed: %s", action, to.conversation, error)
                return
            if response.is_error:
                log.debug("%s for %s refused: %s", action, to.conversation, response.status_code)

    def shows_drafts(self, to: Recipient) -> bool:
        """No drafts on the Send API: "typing…" shows while the answer is written."""
        return False

    async def show_draft(
        self, to: Recipient, draft_id: int, text: str, reasoning: str = ""
    ) -> bool:
        return False

    def edits_for(self, to: Recipient) -> None:
        """Sent messages cannot be edited here: the answer comes when it is complete."""
        return None

    async def fetch_media(self, message: IncomingMessage, max_bytes: int) -> Media:
        """The attachment's CDN link, fetched as it came (it needs no token, and expires)."""
        if message.url is None or not message.url.startswith(("https://", "http://")):
            raise MediaUnavailable("the message carries no attachment link")
        try:
            async with httpx.AsyncClient(timeout=self._client.timeout) as plain:
                media = await plain.get(message.url)
        except httpx.HTTPError as error:
            raise MediaUnavailable(f"the attachment link is unreachable: {error}") from error
        if not media.is_success:
            raise MediaUnavailable(f"the attachment link answered {media.status_code}")
        if len(media.content) > max_bytes:
            raise too_large(len(media.content), max_bytes)
        return Media(media.content, media.headers.get("content-type"))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _post(self, to: Recipient, body: dict[str, Any]) -> httpx.Response:
        account, person = self._recipient_of(to.conversation)
        payload = {"recipient": {"id": person}, **body}
        return await self._client.post(f"/{account}/messages", json=payload)

    async def _send(self, to: Recipient, body: dict[str, Any]) -> None:
        try:
            response = await self._post(to, {"messaging_type": "RESPONSE", **body})
        except httpx.HTTPError as error:
            self._count("network")
            raise Unavailable(
                f"{self.channel.value} unreachable: {type(error).__name__}: {error}"
            ) from error
        if response.is_error:
            raise self.outcome_of(response)

    def outcome_of(self, response: httpx.Response) -> DeliveryFailed:
        """What a Send API error means for delivery (its code, else its HTTP status)."""
        error = graph_error(response)
        name = self.channel.value.capitalize()
        said = f"{name} error {error.code or response.status_code}: {error.detail}"
        pair = (error.code, error.subcode)
        if response.status_code == 401 or error.code == TOKEN_REFUSED:
            self._count("token_refused")
            log.critical(
                "%s refused %s (%s): replace it; nothing is sent", name, self._token_setting, said
            )
            return CredentialsRefused(f"{name} refused {self._token_setting}: {said}")
        if pair == OUTSIDE_WINDOW:
            self._count("recipient_gone")
            return RecipientGone(
                f"the 24-hour messaging window is closed ({said}); the person must write "
                "again before the account can answer"
            )
        if error.code in UNREACHABLE or pair in UNREACHABLE:
            self._count("recipient_gone")
            return RecipientGone(f"the person cannot be reached ({said})")
        if response.status_code == 429 or error.code in RATE_LIMITED:
            self._count("retry_after")
            wait = response.headers.get("Retry-After", "")
            if wait.isdigit():
                return RetryAfter(f"{name} rate limit ({said})", float(wait))
            return Unavailable(f"{name} rate limit ({said})")
        if response.status_code >= 500 or error.code in UNAVAILABLE:
            self._count("server")
            return Unavailable(f"{name} unavailable ({said})")
        self._count("bad_request")
        return Refused(f"{name} refused it ({said})")

    def _count(self, kind: str) -> None:
        metrics.SEND_ERRORS.labels(self.channel.value, kind).inc()
