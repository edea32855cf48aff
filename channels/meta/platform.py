"""What Instagram and Messenger share past their settings: a webhook intake over
:mod:`.messaging`, a Send API sender, conversation ids, assembled into a channel's entry
from what differs (:class:`SendApiChannel`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from pydantic import SecretStr
from pydantic_settings import BaseSettings

from channels.base import ChannelSender, Delivery, Limits, WebhookIntake
from channels.entry import ChannelEntry, NoRecipient
from channels.meta.conversations import ScopedConversations
from channels.meta.messaging import Platform, parse_messaging
from channels.meta.send_api import SendApiSender
from channels.meta.settings import MetaAppSettings
from shared.models import Channel
from shared.proactive import Addressee

S = TypeVar("S", bound=BaseSettings)


@dataclass(frozen=True, slots=True)
class MessagingWebhook:
    """Deliveries to ``/webhook/<channel>`` for one account (a Page, an Instagram account)."""

    platform: Platform
    channel: Channel
    account: str
    account_setting: str

    def parse(self, raw: bytes) -> Delivery:
        return parse_messaging(self.platform, raw)


@dataclass(frozen=True, slots=True)
class SendApiChannel(Generic[S]):
    """What one Send API channel (Instagram, Messenger) is, in its own settings' names."""

    channel: Channel
    title: str
    object: str
    """The webhook delivery's ``object``."""
    limits: Limits
    token_setting: str
    account_setting: str
    person_id: str
    """What the person's scoped id is called, for a proactive request without one."""
    token: Callable[[S], SecretStr | None]
    account: Callable[[S], str | None]
    api_url: Callable[[S], str]
    timeout_seconds: Callable[[S], float]

    @property
    def conversations(self) -> ScopedConversations:
        return ScopedConversations(self.channel)

    @property
    def platform(self) -> Platform:
        return Platform(self.title, self.object, self.conversations.conversation_id)

    def entry(self, settings: type[S]) -> ChannelEntry[S]:
        """The channel's registry entry, reading ``settings``."""
        conversations, platform = self.conversations, self.platform

        def sender(values: S, typing_refresh_seconds: float) -> ChannelSender:
            token = self.token(values)
            assert token is not None
            return SendApiSender(
                self.channel,
                self.limits,
                conversations.parts_of,
                self.api_url(values),
                token.get_secret_value(),
                self.token_setting,
                self.timeout_seconds(values),
            )

        def intake_problem(values: S) -> str | None:
            assert isinstance(values, MetaAppSettings)
            missing = values.missing_for_webhooks()
            if self.account(values) is None:
                missing.append(self.account_setting)
            if not missing:
                return None
            return (
                f"{self.token_setting} is set, so the bot serves {self.title}'s webhook and "
                f"needs {', '.join(missing)} too (from the Meta app's settings; see the README)"
            )

        def webhook(values: S) -> WebhookIntake:
            account = self.account(values)
            assert account is not None
            return MessagingWebhook(platform, self.channel, account, self.account_setting)

        def proactive_conversation(values: S, request: Addressee) -> str:
            account = request.account_id or self.account(values)
            if request.recipient_id is None or account is None:
                raise NoRecipient(
                    f"a {self.title} message needs recipient_id (the person's {self.person_id})"
                    f" and account_id unless the bot has {self.account_setting}"
                )
            return conversations.conversation_id(account, request.recipient_id)

        return ChannelEntry(
            channel=self.channel,
            title=self.title,
            credential=self.token_setting,
            settings=settings,
            configured=lambda values: self.token(values) is not None,
            make_sender=sender,
            send_timeout_seconds=self.timeout_seconds,
            intake_problem=intake_problem,
            proactive_conversation=proactive_conversation,
            webhook=webhook,
        )
