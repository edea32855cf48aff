"""The browser demo's simulated people, each on a channel of their choice: what they write
goes in through that channel's stand-in, exactly as the platform would deliver it
(a Bot API update, a signed WhatsApp delivery, a signed Messenger Platform event)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from channels.instagram import InstagramAdapter
from channels.messenger import MessengerAdapter
from channels.whatsapp.conversations import conversation_id as whatsapp_conversation
from sandbox.messaging_wire import attachments_event, echo_event, text_event
from sandbox.send_api import SendApiStandIn
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.transcription_api import VOICE_NOTE
from sandbox.whatsapp_api import WhatsAppStandIn
from sandbox.whatsapp_wire import (
    SANDBOX_PHONE_NUMBER_ID,
    WaPerson,
    business_app_echo,
    delivery_json,
    message_json,
    text_json,
)
from shared.handoff import Handoffs
from shared.models import MessageId

CHANNELS = ("telegram", "whatsapp", "instagram", "messenger")


@dataclass(frozen=True, slots=True)
class StandIns:
    telegram: TelegramStandIn
    whatsapp: WhatsAppStandIn
    instagram: SendApiStandIn
    messenger: SendApiStandIn


@dataclass(frozen=True, slots=True)
class Simulated:
    """One person of the page: ``id`` is the page's, ``address`` the platform's."""

    id: int
    name: str
    channel: str
    address: str
    """Telegram's chat id, the wa_id, the IGSID or the PSID, as the backend sees the user."""
    conversation: str

    def shown(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "channel": self.channel,
            "conversation": self.conversation,
        }


@dataclass(frozen=True, slots=True)
class Written:
    """One bubble of the person's side of the chat: a message as the platform numbered it."""

    message_id: MessageId
    text: str | None = None
    photo: str | None = None


class People:
    """Adds people and sends what they write through their channel's stand-in."""

    def __init__(self, stand_ins: StandIns) -> None:
        self.stand_ins = stand_ins
        self.by_id: dict[int, Simulated] = {}
        self.telegram_updates: dict[tuple[int, int], dict[str, Any]] = {}
        """(person, message id) to the update, so an edit can be made of it."""
        self._ids = itertools.count(1001)
        self._albums = itertools.count(1)

    def add(self, name: str, channel: str = "telegram") -> Simulated:
        number = next(self._ids)
        if channel == "telegram":
            address, conversation = str(number), str(number)
        elif channel == "whatsapp":
            address = f"1415555{number:04d}"
            conversation = whatsapp_conversation(SANDBOX_PHONE_NUMBER_ID, address)
        else:
            adapter = InstagramAdapter if channel == "instagram" else MessengerAdapter
            address = f"{6100 if channel == 'instagram' else 7200}00000000{number:04d}"
            conversation = adapter.platform().conversation(
                self.stand_in(channel).shape.account, address
            )
        person = Simulated(number, name, channel, address, conversation)
        self.by_id[number] = person
        return person

    def stand_in(self, channel: str) -> SendApiStandIn:
        return self.stand_ins.instagram if channel == "instagram" else self.stand_ins.messenger

    async def say(self, person: Simulated, text: str | None, photos: list[str]) -> list[Written]:
        """What the person wrote, delivered; the messages it became, in order."""
        if person.channel == "telegram":
            return await self._telegram(person, text, photos)
        if person.channel == "whatsapp":
            return await self._whatsapp(person, text, photos)
        return await self._send_api(person, text, photos)

    async def speak(self, person: Simulated) -> MessageId:
        """The person sends the sandbox's voice note (a real OGG/Opus file); its id."""
        audio = VOICE_NOTE.read_bytes()
        if person.channel == "telegram":
            who = Person(id=person.id, first_name=person.name, language_code="en")
            update = await self.stand_ins.telegram.person_speaks(who, audio, duration=4)
            return int(update["message"]["message_id"])
        if person.channel == "whatsapp":
            wa = WaPerson(wa_id=person.address, name=person.name)
            return str((await self.stand_ins.whatsapp.person_speaks(wa, audio))["id"])
        raise ValueError(
            f"voice notes in the sandbox come from Telegram and WhatsApp, not {person.channel}"
        )

    async def _telegram(
        self, person: Simulated, text: str | None, photos: list[str]
    ) -> list[Written]:
        """An album's photos arrive one by one, as Telegram delivers them."""
        who = Person(id=person.id, first_name=person.name, language_code="en")
        telegram = self.stand_ins.telegram
        if not photos:
            update = await telegram.person_says(who, text)
            self.telegram_updates[(person.id, update["message"]["message_id"])] = update
            return [Written(int(update["message"]["message_id"]), text)]
        album = f"album-{next(self._albums)}" if len(photos) > 1 else None
        written = []
        for index, photo in enumerate(photos):
            caption = text if index == len(photos) - 1 and text else None
            update = await telegram.person_says(
                who, None, photo=photo, caption=caption, media_group_id=album
            )
            written.append(Written(int(update["message"]["message_id"]), caption, photo))
        return written

    async def _whatsapp(
        self, person: Simulated, text: str | None, photos: list[str]
    ) -> list[Written]:
        """WhatsApp has no albums: each photo is its own message, the text on the last."""
        who = WaPerson(wa_id=person.address, name=person.name)
        images = [{"id": photo, "mime_type": "image/svg+xml"} for photo in photos]
        if images and text:
            images[-1]["caption"] = text
        messages = [message_json(who, "image", image) for image in images]
        messages = messages or [text_json(who, text or "")]
        for message in messages:
            _delivered(await self.stand_ins.whatsapp.deliver(delivery_json((who, message))))
        written = []
        for message in messages:
            image, words = message.get("image", {}), message.get("text", {}).get("body")
            written.append(
                Written(str(message["id"]), words or image.get("caption"), image.get("id"))
            )
        return written

    async def _send_api(
        self, person: Simulated, text: str | None, photos: list[str]
    ) -> list[Written]:
        """Instagram and Messenger: several photos are one message; the text its own."""
        stand_in = self.stand_in(person.channel)
        account = stand_in.shape.account
        events = (
            [attachments_event(person.address, account, *[("image", p) for p in photos])]
            if photos
            else []
        )
        if text:
            events.append(text_event(person.address, account, text))
        for event in events:
            await stand_in.deliver_events(event)
        written = []
        for event in events:
            mid = str(event["message"]["mid"])
            attached = event["message"].get("attachments", [])
            written += [
                Written(f"{mid}/{i + 1}", None, a["payload"]["url"]) for i, a in enumerate(attached)
            ]
            if "text" in event["message"]:
                written.append(Written(mid, event["message"]["text"]))
        return written


async def owner_writes(people: People, handoffs: Handoffs, person: Simulated, text: str) -> None:
    """The business answers the person itself, as its platform reports it to the bot: the
    WhatsApp Business app's echo, a reply in Meta's inbox (an echo without batchbot's
    metadata). A chat with a Telegram bot has no owner's side (Telegram Business chats do),
    so there the takeover is made as ``POST /handoff`` makes it."""
    stand_ins = people.stand_ins
    if person.channel == "whatsapp":
        who = WaPerson(wa_id=person.address, name=person.name)
        _delivered(await stand_ins.whatsapp.deliver(business_app_echo(who, text)))
    elif person.channel in ("instagram", "messenger"):
        stand_in = people.stand_in(person.channel)
        await stand_in.deliver_events(echo_event(person.address, stand_in.shape.account, text))
    else:
        await handoffs.take_over(person.conversation, "api", HANDOFF_SECONDS, text)


HANDOFF_SECONDS = 60.0
"""The demo's takeovers last a minute (the bot's HANDOFF_SECONDS is set to it too)."""


def _delivered(status: int) -> None:
    if status != 200:
        raise AssertionError(f"the bot answered {status} to a delivery")
