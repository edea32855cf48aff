"""Every kind of message a person can send reaches the backend with what it needs."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from sandbox.example_backend import ExampleBackend
from sandbox.telegram_api import Person, TelegramStandIn
from shared.models import MessageKind
from tests.conftest import Product, SettingsFactory, wait_until_idle

ZOE = Person(id=3303, first_name="Zoe")

FILE = {"file_id": "FILE-ID", "file_unique_id": "UNIQUE"}
SHAPES: dict[str, dict[str, Any]] = {
    "video": {"video": {**FILE, "width": 640, "height": 480, "duration": 7}, "caption": "clip"},
    "voice": {"voice": {**FILE, "duration": 3, "mime_type": "audio/ogg"}},
    "audio": {"audio": {**FILE, "duration": 180, "mime_type": "audio/mpeg"}},
    "document": {"document": {**FILE, "file_name": "menu.pdf", "mime_type": "application/pdf"}},
    "sticker": {
        "sticker": {
            **FILE, "type": "regular", "width": 512, "height": 512,
            "is_animated": False, "is_video": False, "emoji": "👍",
        }
    },
    "location": {"location": {"latitude": 52.52, "longitude": 13.40}},
    "contact": {"contact": {"phone_number": "+4930123", "first_name": "Bo", "user_id": 77}},
}  # fmt: skip


async def test_media_locations_and_contacts_arrive_with_file_ids_and_details(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings(batch_window_seconds=1.0)
    await product.start(settings)
    updates = []
    for shape in SHAPES.values():
        update = telegram.compose(ZOE)
        update["message"].update(shape)
        updates.append(update)
    await telegram.deliver(*updates)
    await telegram.wait_for_messages(ZOE.id, 1)
    await wait_until_idle(redis)

    [batch] = backend.received
    by_kind = {m.kind: m for m in batch.messages}
    assert list(by_kind) == [MessageKind(kind) for kind in SHAPES]
    for kind in ("video", "voice", "audio", "document", "sticker"):
        assert by_kind[MessageKind(kind)].file_id == "FILE-ID"
    assert by_kind[MessageKind.VIDEO].caption == "clip"
    assert by_kind[MessageKind.VIDEO].duration == 7
    assert by_kind[MessageKind.DOCUMENT].file_name == "menu.pdf"
    assert by_kind[MessageKind.STICKER].emoji == "👍"
    location = by_kind[MessageKind.LOCATION].location
    assert location is not None and (location.latitude, location.longitude) == (52.52, 13.40)
    contact = by_kind[MessageKind.CONTACT].contact
    assert contact is not None and contact.phone_number == "+4930123"
    assert batch.text == "clip"
