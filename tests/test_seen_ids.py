"""A conversation's recent message ids (the ``seen`` field of ``batch-info:``) and the
private chat the store leaves out, step by step against a real Redis."""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from shared.keys import ConversationKeys
from shared.models import Chat, IncomingMessage, MessageId, MessageKind, User
from shared.rules import BatchingRules
from shared.store import SEEN_IDS_KEPT, BatchStore

DAY = 86400
USER = User(id=77, first_name="Bo")
KEYS = ConversationKeys("77")
RULES = BatchingRules(
    window_ms=0,
    max_wait_ms=60_000,
    max_messages=1000,
    max_pending_messages=1000,
    max_pending_bytes=1_048_576,
    max_message_bytes=65_536,
    supersede=False,
)


def text(message_id: MessageId) -> IncomingMessage:
    return IncomingMessage(
        message_id=message_id, date=datetime.now(UTC), kind=MessageKind.TEXT, text="hi"
    )


async def send(store: BatchStore, message_id: MessageId, chat: Chat | None = None) -> bool:
    """Append one message; True when it was stored, False when dropped as a duplicate."""
    result = await store.append(
        "77", chat or Chat(id=77, type="private"), USER, text(message_id), RULES
    )
    return not result.duplicate


async def test_the_ids_kept_are_the_latest_and_an_older_one_counts_as_new(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    for message_id in range(1, SEEN_IDS_KEPT + 6):
        assert await send(store, message_id)
    seen = (await redis.hget(KEYS.info, "seen") or b"").decode().split()  # type: ignore[misc]
    assert seen == [str(n) for n in range(6, SEEN_IDS_KEPT + 6)]
    assert not await send(store, SEEN_IDS_KEPT + 5)  # a redelivery of the newest
    assert not await send(store, 6)  # the oldest still kept
    assert await send(store, 5)  # forgotten: taken as a new message


async def test_ids_of_any_form_are_told_apart(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    for message_id in (wamid, "12", 1, "1 2", "m_1"):
        assert await send(store, message_id), message_id
    assert not await send(store, wamid)
    assert not await send(store, "m_1")
    assert not await send(store, 12)  # Telegram's number and its text are one id
    assert await send(store, 2)  # "1 2" is one id, not two


async def test_after_the_claim_only_the_ids_stay(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    await send(store, 1)
    outcome = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert outcome.batch is not None
    assert await redis.hgetall(KEYS.info) == {b"seen": b"1"}  # type: ignore[misc]
    assert await redis.ttl(KEYS.info) > DAY
    await store.release(outcome.batch)
    assert not await send(store, 1)  # answered, and still a duplicate


async def test_a_private_chat_is_left_out_and_rebuilt_at_the_claim(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    await send(store, 1)
    assert not await redis.hexists(KEYS.info, "chat")  # type: ignore[misc]
    outcome = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert outcome.batch is not None
    assert outcome.batch.request.chat == Chat(id=77, type="private")


async def test_any_other_chat_is_kept_as_it_came(redis: Redis) -> None:
    store = BatchStore(redis, 7 * DAY)
    group = Chat(id=-100123, type="supergroup", title="Salon")
    await send(store, 1, group)
    outcome = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert outcome.batch is not None
    assert outcome.batch.request.chat == group
    await store.release(outcome.batch)
    # The person's chat with a username is not the bare private chat either.
    named = Chat(id=77, type="private", username="bo")
    await send(store, 2, named)
    outcome = await store.claim("77", max_messages=10, recheck_after_ms=70_000, lease_ms=60_000)
    assert outcome.batch is not None
    assert outcome.batch.request.chat == named
