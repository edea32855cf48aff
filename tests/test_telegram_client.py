"""The Bot API client both processes share: the model aiogram parses each answer with is
built once per process, not again after every garbage collection."""

from __future__ import annotations

import gc
import weakref

from aiogram.methods import Response, SendMessage

from channels.telegram import make_bot
from channels.telegram.settings import TelegramSettings
from sandbox.telegram_api import TelegramStandIn


async def _sent_once(url: str, token: str) -> weakref.ref[type[Response[object]]]:
    """Send one message through make_bot's client; a weak reference to the parsing model."""
    bot = make_bot(TelegramSettings(bot_token=token, telegram_api_url=url))
    try:
        await bot.send_message(chat_id=77, text="hello")
    finally:
        await bot.session.close()
    # The same lookup aiogram makes for every answer, made inside a function (as aiogram's
    # is): at a module's top level pydantic would also keep the model in that module.
    return weakref.ref(Response[SendMessage.__returning__])  # type: ignore[valid-type]


async def test_the_answer_model_outlives_a_garbage_collection() -> None:
    telegram = TelegramStandIn()
    url = await telegram.start()
    try:
        model = await _sent_once(url, telegram.token)
        gc.collect()
        assert model() is not None, "Response[Message] was collected: the next answer rebuilds it"
        assert telegram.messages_to(77) == ["hello"]
    finally:
        await telegram.stop()
