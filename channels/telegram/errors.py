"""aiogram's errors as the delivery outcomes of :mod:`channels.outcomes`, each counted."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import ReplyParameters

from channels.outcomes import CredentialsRefused, RecipientGone, Refused, RetryAfter, Unavailable
from shared import metrics
from shared.models import Channel, MessageId

log = logging.getLogger("batchbot.telegram")


def errors(kind: str) -> None:
    metrics.SEND_ERRORS.labels(Channel.TELEGRAM.value, kind).inc()


@contextlib.contextmanager
def outcomes() -> Iterator[None]:
    """aiogram's errors as delivery outcomes, each counted by kind."""
    try:
        yield
    except TelegramRetryAfter as error:
        errors("retry_after")
        raise RetryAfter(f"Telegram flood limit: {error}", error.retry_after) from error
    except (TelegramNetworkError, TelegramServerError) as error:
        kind = "network" if isinstance(error, TelegramNetworkError) else "server"
        errors(kind)
        raise Unavailable(f"Telegram unavailable: {error}") from error
    except TelegramForbiddenError as error:
        errors("recipient_gone")
        raise RecipientGone(f"the chat blocked the bot: {error}") from error
    except TelegramUnauthorizedError as error:
        errors("token_refused")
        log.critical("Telegram refused BOT_TOKEN (%s): nothing can be sent until fixed", error)
        raise CredentialsRefused(f"Telegram refused BOT_TOKEN: {error}") from error
    except TelegramBadRequest as error:
        errors("bad_request")
        raise Refused(f"Telegram refused it: {error}") from error


def replying(reply_to: MessageId | None) -> ReplyParameters | None:
    """A reply to a Telegram message; an id of another platform's form is no reply."""
    if reply_to is None or not str(reply_to).isdigit():
        return None
    return ReplyParameters(message_id=int(reply_to), allow_sending_without_reply=True)
