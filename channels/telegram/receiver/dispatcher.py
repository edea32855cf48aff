"""Telegram's intake: aiogram's Dispatcher with the commands, batching and Telegram
Business routers, fed by polling or, with WEBHOOK_URL, Telegram's webhook. Whatever it
receives goes to the bot's :class:`channels.base.Intake`."""

from __future__ import annotations

from aiogram import Bot, Dispatcher

from channels.base import Intake
from channels.telegram.bot import make_bot
from channels.telegram.receiver.business import business_router
from channels.telegram.receiver.check import checked_bot_identity
from channels.telegram.receiver.commands import add_commands
from channels.telegram.receiver.handlers import add_batching
from channels.telegram.receiver.polling import poll_until_stopped
from channels.telegram.receiver.webhook import run_webhook
from channels.telegram.settings import TelegramSettings
from shared.stopping import stop_on_signals


def make_dispatcher(intake: Intake, settings: TelegramSettings) -> Dispatcher:
    """The handlers get ``intake`` and ``settings`` as arguments (aiogram's workflow data)."""
    # No FSM: batching keeps its state in Redis, and FSM's middleware costs every update
    # a storage lookup for nothing.
    dispatcher = Dispatcher(disable_fsm=True, intake=intake, settings=settings)
    # Commands and batching sit on the dispatcher itself, not in routers of their own: every
    # router a message passes through costs aiogram a propagation step and a middleware
    # chain, and Telegram's intake was 1.35x a WhatsApp delivery's cost (1.17x this way).
    add_commands(dispatcher, settings)
    add_batching(dispatcher)
    dispatcher.include_router(business_router())
    return dispatcher


async def run_telegram(settings: TelegramSettings, intake: Intake) -> None:
    """Until SIGINT/SIGTERM: the token checked first (a refused one stops the bot), then
    webhook mode when WEBHOOK_URL is set, else polling. Polling confirms an update to
    Telegram only once stored, so its writes never give up (:meth:`Intake.patient`); a
    webhook's answer 503 makes Telegram deliver again."""
    bot = make_bot(settings)
    try:
        await checked_bot_identity(bot, settings)
        if settings.webhook_url is not None:
            await run_webhook(make_dispatcher(intake, settings), bot, settings)
        else:
            await _poll(make_dispatcher(intake.patient(), settings), bot, intake)
    finally:
        await bot.session.close()


async def _poll(dispatcher: Dispatcher, bot: Bot, intake: Intake) -> None:
    stop = stop_on_signals()
    await bot.delete_webhook()
    await poll_until_stopped(dispatcher, bot, stop, intake.shutdown_grace_seconds)
