"""The Bot API stand-in's files: getFile and the download at the URL that carries the bot
token, for the sandbox's photos and the voice notes people send (:meth:`person_speaks`)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from aiohttp import web

from sandbox.telegram_edits import bad_request
from sandbox.telegram_wire import (
    Person,
    downloaded_file_id,
    error_response,
    file_json,
    photo_bytes,
)

VOICE_PREFIX = "voice-"
_voice_ids = itertools.count(1)
BOT_API_DOWNLOAD_LIMIT = 20 * 1024 * 1024
"""getFile refuses larger files: "Bad Request: file is too big"."""


class FilesSurface:
    """Mixed into :class:`sandbox.telegram_api.TelegramStandIn`."""

    token: str
    files: dict[str, bytes]
    downloads: list[tuple[str, float]]

    def compose(self, person: Person, text: str | None = None, **details: Any) -> dict[str, Any]:
        raise NotImplementedError

    async def deliver(self, *updates: dict[str, Any]) -> None:
        raise NotImplementedError

    async def person_speaks(
        self, person: Person, audio: bytes, duration: int, **details: Any
    ) -> dict[str, Any]:
        """The person sends a voice note (OGG/Opus, as Telegram's apps record them)."""
        file_id = f"{VOICE_PREFIX}{next(_voice_ids)}"
        self.files[file_id] = audio
        update = self.compose(person, **details)
        update["message"]["voice"] = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(audio),
        }
        await self.deliver(update)
        return update

    async def _get_file(self, params: dict[str, str]) -> Any:
        file_id = params["file_id"]
        if file_id not in self.files:
            return file_json(file_id)
        size = len(self.files[file_id])
        if size > BOT_API_DOWNLOAD_LIMIT:
            raise bad_request("file is too big")
        path = f"voice/{file_id}.oga"
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": size,
                "file_path": path}  # fmt: skip

    async def _file(self, request: web.Request) -> web.Response:
        """A download, at the URL that carries the bot token (as Telegram's does)."""
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        path = request.match_info["path"]
        if path.startswith("voice/"):
            audio = self.files.get(path.removeprefix("voice/").removesuffix(".oga"))
            if audio is None:
                return error_response(404, "Not Found")
            return web.Response(body=audio, content_type="audio/ogg")
        file_id = downloaded_file_id(path)
        self.downloads.append((file_id, time.monotonic()))
        return web.Response(body=photo_bytes(file_id), content_type="image/jpeg")
