"""Every channel is one folder with one adapter class, found through one registry: nothing
outside a channel's folder names what is that channel's (no exemption: the registry
imports the adapter classes through each folder's package), so adding one is its folder
plus a registry line."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from channels.adapter import ChannelAdapter
from channels.registry import ADAPTERS, ChannelSettings
from shared.keys import channel_of
from shared.models import Channel

ROOT = Path(__file__).parent.parent
PRODUCT = ["shared", "config", "backend_client", "channels", "bot", "worker", "batchctl"]
CHANNEL_FOLDERS = {channel.value for channel in Channel}
REGISTRY = "channels/registry.py"


def _product_files() -> list[Path]:
    return [path for package in PRODUCT for path in sorted((ROOT / package).rglob("*.py"))]


def _channel_imports(path: Path) -> set[str]:
    """The channel folders a module imports from (the registry: anything but the package
    itself, which exports the adapter class)."""
    found = set()
    registry = path.relative_to(ROOT).as_posix() == REGISTRY
    for node in ast.walk(ast.parse(path.read_text())):
        names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            in_a_folder = len(parts) >= 2 and parts[0] == "channels" and parts[1] in CHANNEL_FOLDERS
            if in_a_folder and not (registry and len(parts) == 2):
                found.add(parts[1])
    return found


def test_no_module_outside_a_channels_folder_imports_from_it() -> None:
    offenders = {}
    for path in _product_files():
        where = path.relative_to(ROOT).as_posix()
        own = where.split("/")[1] if where.startswith("channels/") else None
        imported = _channel_imports(path) - {own}
        if imported:
            offenders[where] = sorted(imported)
    assert offenders == {}


def test_no_module_outside_the_channels_names_a_channels_settings() -> None:
    """A channel's settings (BOT_TOKEN, WEBHOOK_*, WHATSAPP_*, INSTAGRAM_*, MESSENGER_*) are
    read in its folder only; everything else asks the registry or the adapter."""
    fields = {
        name
        for adapter in ADAPTERS
        for name in adapter.settings.model_fields
        if not name.startswith(("redis_", "meta_"))
    }
    offenders = []
    for path in _product_files():
        where = path.relative_to(ROOT).as_posix()
        if where.startswith("channels/") and where.split("/")[1] in CHANNEL_FOLDERS | {"meta"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in fields:
                offenders.append(f"{where}:{node.lineno} .{node.attr}")
    assert offenders == []


def test_every_channel_of_the_contract_has_one_adapter_and_its_own_prefix() -> None:
    assert [adapter.channel for adapter in ADAPTERS] == list(Channel)
    for adapter in ADAPTERS:  # the adapter sits in its channel's own folder
        assert adapter.__module__ == f"channels.{adapter.channel.value}.adapter"
        assert issubclass(adapter, ChannelAdapter)
    prefixes = [channel.conversation_prefix for channel in Channel]
    assert len(set(prefixes)) == len(prefixes)
    assert channel_of("123") is Channel.TELEGRAM
    assert channel_of("-100:5") is Channel.TELEGRAM
    assert channel_of("wa:1065:1415") is Channel.WHATSAPP
    assert channel_of("ig:1784:6100") is Channel.INSTAGRAM
    assert channel_of("fb:1040:7200") is Channel.MESSENGER
    for adapter in ADAPTERS:  # every process reads every channel's settings
        assert adapter.settings.model_fields.keys() <= ChannelSettings.model_fields.keys()


def test_the_whatsapp_names_of_the_meta_app_settings_keep_working() -> None:
    settings = ChannelSettings(
        whatsapp_access_token="EAAG-token",
        whatsapp_app_secret="old-name-secret",
        whatsapp_verify_token="old-name-verify",
        whatsapp_listen_port=9191,
    )
    assert settings.meta_app_secret is not None
    assert settings.meta_app_secret.get_secret_value() == "old-name-secret"
    assert settings.meta_listen_port == 9191
    assert settings.channels == [Channel.WHATSAPP]


def test_every_channels_checks_survive_in_the_settings_every_process_reads() -> None:
    """Mixed into one class, two channels' validators with one name would leave one of
    them: a Page id like 'abc' once passed unchecked."""
    composed = ChannelSettings.__pydantic_decorators__
    for adapter in ADAPTERS:
        own = adapter.settings.__pydantic_decorators__
        assert own.field_validators.keys() <= composed.field_validators.keys(), adapter.title
        assert own.model_validators.keys() <= composed.model_validators.keys(), adapter.title
    wrong: list[dict[str, Any]] = [{"messenger_page_id": "abc"}, {"instagram_account_id": "x-1"}]
    for values in wrong:
        with pytest.raises(ValidationError, match="expected digits only"):
            ChannelSettings(instagram_access_token="IGAA-token", **values)
