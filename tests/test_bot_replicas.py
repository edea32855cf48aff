"""Two bots behind one URL, as a load balancer with two replicas gives: Telegram's webhook
and WhatsApp's, each delivery going to the next bot in turn (and every Telegram update
delivered twice, as Telegram does after a timeout). Every update is stored once, each
burst answered once, and each bot's /healthz answers. A second *polling* bot on the same
token: Telegram answers 409 Conflict; the bot says so in one line, waits, and loses
nothing."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
from collections import Counter

import httpx
from aiohttp import web
from redis.asyncio import Redis

from sandbox.environment import whatsapp_environment
from sandbox.example_backend import ExampleBackend
from sandbox.launcher import ChildProcess
from sandbox.redis_server import free_port
from sandbox.telegram_api import Person, TelegramStandIn
from sandbox.whatsapp_api import WhatsAppStandIn
from sandbox.whatsapp_wire import WaPerson
from tests.conftest import Product, SettingsFactory, settings_environment, wait_until_idle

SECRET = "replica-webhook-secret"
HOP_BY_HOP = {"host", "content-length", "transfer-encoding", "connection"}


class RoundRobin:
    """A proxy on loopback that sends each request to the next of its upstreams."""

    def __init__(self, upstreams: list[str]) -> None:
        self.upstreams = itertools.cycle(upstreams)
        self.sent_to: Counter[str] = Counter()
        self._runner: web.AppRunner | None = None
        self._http = httpx.AsyncClient()
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{path:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.url

    async def stop(self) -> None:
        await self._http.aclose()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        upstream = next(self.upstreams)
        self.sent_to[upstream] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        answered = await self._http.request(
            request.method,
            upstream + request.path_qs,
            headers=headers,
            content=await request.read(),
        )
        return web.Response(status=answered.status_code, body=answered.content)


async def test_two_webhook_bots_behind_one_url_store_every_update_once(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    whatsapp: WhatsAppStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    # Each person's three updates go out between everyone else's (36 posts through the
    # proxy): the window must outlast that on a loaded machine, or a burst is two batches.
    settings = make_settings(
        whatsapp_access_token=whatsapp.access_token,
        whatsapp_api_url=whatsapp.api_url,
        batch_window_seconds=3.0,
    )
    bots, telegram_ports, whatsapp_ports, health_ports = [], [], [], []
    for _ in range(2):
        webhook_port, whatsapp_port, health_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            **settings_environment(settings),
            **whatsapp_environment(whatsapp, whatsapp_port),
            "WEBHOOK_URL": "https://bot.example.com/telegram",
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_LISTEN_HOST": "127.0.0.1",
            "WEBHOOK_LISTEN_PORT": str(webhook_port),
            "BOT_METRICS_PORT": str(health_port),
        }
        bots.append(ChildProcess.launch([sys.executable, "-m", "bot"], env, b"webhook mode"))
        telegram_ports.append(webhook_port)
        whatsapp_ports.append(whatsapp_port)
        health_ports.append(health_port)
    started = await asyncio.gather(*bots)
    telegram_proxy = RoundRobin([f"http://127.0.0.1:{p}" for p in telegram_ports])
    whatsapp_proxy = RoundRobin([f"http://127.0.0.1:{p}" for p in whatsapp_ports])
    await telegram_proxy.start()
    await whatsapp_proxy.start()
    whatsapp.webhook_url = whatsapp_proxy.url + "/webhook/whatsapp"
    try:
        await product.start_workers(settings, 2)
        people = [Person(id=660_000 + n, first_name=f"T{n}") for n in range(6)]
        async with httpx.AsyncClient() as http:
            for round_ in range(3):
                for person in people:
                    update = telegram.compose(person, f"{person.first_name} says {round_}")
                    for _ in range(2):  # delivered twice: each copy to another bot
                        answered = await http.post(
                            telegram_proxy.url + "/telegram",
                            json=update,
                            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
                        )
                        assert answered.status_code == 200, answered.text
            wa_people = [WaPerson(wa_id=f"1415555{n:04d}", name=f"W{n}") for n in range(4)]
            for someone in wa_people:
                await whatsapp.person_says(someone, "hola", "two", "three")
            for person in people:
                await telegram.wait_for_messages(person.id, 1)
            for someone in wa_people:
                await whatsapp.wait_for_messages(someone.wa_id, 1)
            await wait_until_idle(redis)
            for port in health_ports:
                healthy = await http.get(f"http://127.0.0.1:{port}/healthz")
                assert healthy.status_code == 200, healthy.text
    finally:
        await telegram_proxy.stop()
        await whatsapp_proxy.stop()
        for bot in started:
            assert await bot.stop() == 0, bot.log_tail()

    arrivals = Counter(
        (c.request.channel.value, str(c.request.user.id), str(m.message_id))
        for c in backend.calls
        for m in c.request.messages
    )
    assert len(arrivals) == len(people) * 3 + len(wa_people) * 3  # every update stored
    assert max(arrivals.values()) == 1  # once
    assert len(backend.calls) == len(people) + len(wa_people)  # one batch per burst
    assert all(len(telegram.messages_to(p.id)) == 1 for p in people)  # one answer each
    assert all(len(whatsapp.messages_to(p.wa_id)) == 1 for p in wa_people)
    # Both bots took half of each channel's deliveries (36 Telegram posts, 12 WhatsApp).
    assert sorted(telegram_proxy.sent_to.values()) == [18, 18]
    assert sorted(whatsapp_proxy.sent_to.values()) == [6, 6]


async def test_a_second_polling_bot_says_once_that_another_polls_and_loses_nothing(
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
    backend: ExampleBackend,
    redis: Redis,
) -> None:
    settings = make_settings()
    env = {**os.environ, **settings_environment(settings), "BOT_METRICS_PORT": "0"}
    first, second = await asyncio.gather(
        *(ChildProcess.launch([sys.executable, "-m", "bot"], env, b"Run polling") for _ in "ab")
    )
    try:
        await product.start_workers(settings)
        people = [Person(id=670_000 + n, first_name=f"P{n}") for n in range(5)]
        for person in people:
            await telegram.person_says(person, "hello")
            await telegram.person_says(person, "anyone?")
        for person in people:
            await telegram.wait_for_messages(person.id, 1)
        await wait_until_idle(redis)
        # Three 409s between two bots: one bot was cut off twice, 5 s apart, well within
        # the 10 minutes in which it says so once.
        await telegram.wait_for_conflicts(3)
    finally:
        for bot in (first, second):
            assert await bot.stop() == 0, bot.log_tail()
    conflict = b"another instance polls this bot token"
    lines = [bot.log.count(conflict) for bot in (first, second)]
    assert sum(lines) >= 1 and max(lines) == 1, [bot.log_tail() for bot in (first, second)]
    assert not any(bot.logged(b"getUpdates failed") for bot in (first, second))
    arrivals = Counter(
        (c.request.user.id, m.message_id) for c in backend.calls for m in c.request.messages
    )
    assert len(arrivals) == len(people) * 2 and max(arrivals.values()) == 1
    assert all(len(telegram.messages_to(p.id)) == 1 for p in people)
