"""The WhatsApp stand-in's media: voice notes people send, retrieved as the Cloud API
documents it (``GET /<version>/<media id>`` gives the URL, the MIME type, sha256 and size;
a GET of that URL with the same access token gives the bytes)."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from aiohttp import web

from sandbox.whatsapp_wire import WaPerson, delivery_json, graph_error, message_json

_media_ids = itertools.count(1)


class MediaSurface:
    """Mixed into :class:`sandbox.whatsapp_api.WhatsAppStandIn`."""

    access_token: str
    url: str
    media: dict[str, bytes]

    async def deliver(self, body: dict[str, Any]) -> int:
        raise NotImplementedError

    def add_media_routes(self, app: web.Application) -> None:
        app.router.add_get("/sandbox/media/{media_id}", self._download)
        app.router.add_get("/{version}/{media_id}", self._media_url)

    async def person_speaks(self, person: WaPerson, audio: bytes) -> dict[str, Any]:
        """A voice note (OGG/Opus, as WhatsApp records them), in one signed delivery."""
        media_id = f"{900000000000000 + next(_media_ids)}"
        self.media[media_id] = audio
        content = {
            "mime_type": "audio/ogg; codecs=opus",
            "sha256": hashlib.sha256(audio).hexdigest(),
            "id": media_id,
            "voice": True,
        }
        message = message_json(person, "audio", content)
        status = await self.deliver(delivery_json((person, message)))
        if status != 200:
            raise AssertionError(f"the bot answered {status} to a delivery")
        return message

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {self.access_token}"

    async def _media_url(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            body = graph_error(190, "Invalid OAuth access token - Cannot parse access token")
            return web.json_response(body, status=401)
        media_id = request.match_info["media_id"]
        audio = self.media.get(media_id)
        if audio is None:
            body = graph_error(100, "Invalid parameter", f"media {media_id} not found")
            return web.json_response(body, status=400)
        return web.json_response({
            "messaging_product": "whatsapp",
            "url": f"{self.url}/sandbox/media/{media_id}",
            "mime_type": "audio/ogg; codecs=opus",
            "sha256": hashlib.sha256(audio).hexdigest(),
            "file_size": len(audio),
            "id": media_id,
        })  # fmt: skip

    async def _download(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401)
        audio = self.media.get(request.match_info["media_id"])
        if audio is None:
            return web.Response(status=404)
        return web.Response(body=audio, content_type="audio/ogg")
