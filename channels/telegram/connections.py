"""Telegram Business connections: a business account connects the bot in Telegram
Business → Chatbots, and the bot then reads and answers the owner's private chats with
customers on the owner's behalf. Each connection is kept in Redis as
``business-connection:<id>`` (readable in RedisInsight), updated on every
``business_connection`` update; a disabled one, or one without reply rights, answers
nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass

from aiogram.types import BusinessConnection
from redis.asyncio import Redis

from shared.keys import business_connection_key


@dataclass(frozen=True, slots=True)
class Connection:
    id: str
    owner_id: int
    owner_first_name: str
    enabled: bool
    can_reply: bool

    @property
    def answers(self) -> bool:
        """Whether the bot may answer the customers of this connection now."""
        return self.enabled and self.can_reply

    @property
    def why_not(self) -> str:
        """Why it answers nothing, as a clause: "connection X {why_not}"."""
        return "is disabled" if not self.enabled else "may not reply (no reply right)"


def connection_of(update: BusinessConnection) -> Connection:
    """``rights.can_reply`` where Telegram sends rights, else the older ``can_reply``."""
    can_reply = update.rights.can_reply if update.rights is not None else update.can_reply
    return Connection(
        id=update.id,
        owner_id=update.user.id,
        owner_first_name=update.user.first_name,
        enabled=update.is_enabled,
        can_reply=bool(can_reply),
    )


async def save(redis: Redis, connection: Connection) -> None:
    await redis.hset(  # type: ignore[misc]
        business_connection_key(connection.id),
        mapping={
            "owner_id": connection.owner_id,
            "owner_first_name": connection.owner_first_name,
            "enabled": int(connection.enabled),
            "can_reply": int(connection.can_reply),
            "updated_at": int(time.time() * 1000),
        },
    )


async def load(redis: Redis, connection_id: str) -> Connection | None:
    fields = await redis.hgetall(business_connection_key(connection_id))  # type: ignore[misc]
    if not fields:
        return None
    text = {_text(k): _text(v) for k, v in fields.items()}
    return Connection(
        id=connection_id,
        owner_id=int(text["owner_id"]),
        owner_first_name=text.get("owner_first_name", ""),
        enabled=text.get("enabled") == "1",
        can_reply=text.get("can_reply") == "1",
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
