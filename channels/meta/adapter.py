"""What Instagram and Messenger share past their settings: :class:`SendApiAdapter`, a
channel whose deliveries are Messenger Platform webhooks (:mod:`.messaging`), whose ids
are ``<prefix><account id>:<scoped person id>`` and whose replies go through the Send API.
Each subclass says what is its own: names, limits, settings."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from pydantic import SecretStr

from channels.adapter import ChannelAdapter, NoRecipient
from channels.base import ChannelSender, Delivery, Limits, WebhookIntake
from channels.meta.conversations import ScopedConversations
from channels.meta.messaging import Platform, parse_messaging
from channels.meta.send_api import SendApiSender
from channels.meta.settings import MetaAppSettings
from channels.meta.signature import MetaVerification
from shared.models import Channel
from shared.proactive import Addressee


@dataclass(frozen=True, slots=True)
class MetaWebhookIntake:
    """One Meta channel's deliveries for one account: verified with the Meta app's secret
    and verify token, then read by ``read``."""

    channel: Channel
    account: str
    account_setting: str
    verification: MetaVerification
    reader: Callable[[bytes], Delivery]
    """The channel's parser: NotADelivery when the body is not one of its deliveries."""

    def subscribes(self, mode: str | None, verify_token: str | None) -> bool:
        return self.verification.subscribes(mode, verify_token)

    def authentic(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        return self.verification.authentic(raw, headers)

    @property
    def not_authentic(self) -> str:
        return self.verification.not_authentic

    def parse(self, raw: bytes) -> Delivery:
        return self.reader(raw)


def intake_problem_of(
    settings: MetaAppSettings,
    adapter: type[ChannelAdapter],
    account_setting: str,
    account: str | None,
) -> str | None:
    """What a Meta channel's webhook still needs, as one start-up error."""
    missing = settings.missing_for_webhooks()
    if account is None:
        missing.append(account_setting)
    if not missing:
        return None
    return (
        f"{adapter.credential} is set, so the bot serves {adapter.title}'s webhook and needs "
        f"{', '.join(missing)} too (from the Meta app's settings; see the README)"
    )


class SendApiAdapter(ChannelAdapter):
    """Instagram or Messenger for one account (an Instagram account, a Page)."""

    object: ClassVar[str]
    """The webhook delivery's ``object``."""
    limits: ClassVar[Limits]
    account_setting: ClassVar[str]
    person_id: ClassVar[str]
    """What the person's scoped id is called, for a proactive request without one."""

    @classmethod
    @abstractmethod
    def token_in(cls, settings: Any) -> SecretStr | None: ...

    @classmethod
    @abstractmethod
    def account_in(cls, settings: Any) -> str | None: ...

    @classmethod
    def configured(cls, settings: Any) -> bool:
        return cls.token_in(settings) is not None

    @classmethod
    def identity_in(cls, settings: Any) -> str | None:
        return cls.account_in(settings)

    @classmethod
    def account_named(cls, addressee: Addressee) -> str | None:
        return addressee.account_id

    @classmethod
    def owner_of(cls, conversation: str) -> str | None:
        return ScopedConversations(cls.channel).parts_of(conversation)[0]

    @classmethod
    def platform(cls) -> Platform:
        """How the channel's deliveries read (:mod:`.messaging`)."""
        return Platform(cls.title, cls.object, ScopedConversations(cls.channel).conversation_id)

    @classmethod
    def intake_problem(cls, settings: Any) -> str | None:
        return intake_problem_of(settings, cls, cls.account_setting, cls.account_in(settings))

    def __init__(self, settings: Any, api_url: str, timeout_seconds: float) -> None:
        token = self.token_in(settings)
        assert token is not None, f"{self.credential} is needed"
        self._token = token
        self._account = self.account_in(settings)
        self._app: MetaAppSettings = settings
        self._api_url = api_url
        self._timeout_seconds = timeout_seconds
        self.conversations = ScopedConversations(self.channel)

    def conversation_for(self, addressee: Addressee) -> str:
        account = addressee.account_id or self._account
        if addressee.recipient_id is None or account is None:
            raise NoRecipient(
                f"a {self.title} message needs recipient_id (the person's {self.person_id})"
                f" and account_id unless the bot has {self.account_setting}"
            )
        return self.conversations.conversation_id(account, addressee.recipient_id)

    def account_of(self, conversation: str) -> str | None:
        return self.conversations.parts_of(conversation)[0]

    def webhook(self) -> WebhookIntake:
        assert self._account is not None, f"{self.account_setting} is needed"
        verification = MetaVerification.of(self._app)
        reader = partial(parse_messaging, self.platform())
        return MetaWebhookIntake(
            self.channel, self._account, self.account_setting, verification, reader
        )

    def make_sender(self, typing_refresh_seconds: float) -> ChannelSender:
        return SendApiSender(
            self.channel,
            self.limits,
            self.conversations.parts_of,
            self._api_url,
            self._token.get_secret_value(),
            self.credential,
            self._timeout_seconds,
        )

    @property
    def send_timeout_seconds(self) -> float:
        return self._timeout_seconds
