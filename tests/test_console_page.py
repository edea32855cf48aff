"""The operations console's page in headless Chromium, served by ``python -m batchctl
console`` on IPv6 loopback: a token is checked when it is entered, a batch that is due
while no worker is up says nothing will take it, a worker that was stopped reads
"stopped" and one that died "down", and no request of the page answers 404."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, Response, expect, sync_playwright
from redis import Redis

from batchctl.console_command import page_url
from sandbox.redis_server import RedisServer
from shared.keys import PENDING_INDEX, WORKER_STOPS, WORKERS, ConversationKeys
from tests.browser import CHROMIUM_FLAGS, SCREENSHOTS, chromium_path

TOKEN = "console-page-token-0123456789"
BISTRO_TOKEN = "bistro-console-token-0123"
WAIT_MS = 15_000


@pytest.fixture
def console(redis_server: RedisServer) -> Iterator[str]:
    """The console on [::1] with a token; the URL it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "batchctl", "console", "--host", "::1", "--port", "0"],
        env={**os.environ, "REDIS_URL": redis_server.url, "BATCHCTL_CONSOLE_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"(http://\S+) ", line)
    assert found, line
    yield found.group(1)
    process.terminate()
    assert process.wait(timeout=10) == 0


def test_the_printed_address_brackets_an_ipv6_host() -> None:
    assert page_url("::1", 8090) == "http://[::1]:8090/"
    assert page_url("127.0.0.1", 8090) == "http://127.0.0.1:8090/"


def test_the_console_warns_without_workers_tells_stopped_from_down_and_checks_tokens(
    redis_server: RedisServer, console: str
) -> None:
    assert console.startswith("http://[::1]:")
    redis = Redis.from_url(redis_server.url)
    redis.flushall()
    now_ms = int(time.time() * 1000)
    keys = ConversationKeys("501")
    redis.rpush(keys.batch, '{"message_id": 1, "kind": "text", "text": "hello?"}')
    redis.hset(keys.info, mapping={"first_at": now_ms - 5000, "deadline": now_ms - 1000})
    redis.zadd(PENDING_INDEX, {"501": now_ms - 1000})
    redis.zadd(WORKERS, {"host-a:port9101": now_ms - 20_000, "host-b:port9101": now_ms - 30_000})
    redis.hset(WORKER_STOPS, "host-a:port9101", str(now_ms - 15_000))

    not_found: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        page: Page = browser.new_page()
        page.on("response", lambda r: _note_404(r, not_found))
        try:
            page.goto(console)
            expect(page.locator("#no-worker")).to_be_visible(timeout=WAIT_MS)
            expect(page.locator("#no-worker")).to_contain_text("No worker is up")
            expect(page.locator("#pending .deadline-bar span")).to_have_text(
                "due, no worker up", timeout=WAIT_MS
            )
            stopped = page.locator('.worker-row[data-state="stopped"]')
            expect(stopped).to_contain_text("host-a:port9101")
            expect(stopped).to_contain_text("stopped")
            down = page.locator('.worker-row[data-state="down"]')
            expect(down).to_contain_text("host-b:port9101")
            expect(down).to_contain_text("down (died or lost Redis)")

            page.fill("#token", "not-the-token-at-all")
            page.press("#token", "Enter")
            expect(page.locator("#action-result")).to_have_text(
                "Token not kept: wrong console token", timeout=WAIT_MS
            )
            assert page.evaluate("sessionStorage.getItem('batchctl-token')") is None
            page.fill("#token", TOKEN)
            page.press("#token", "Enter")
            expect(page.locator("#action-result")).to_contain_text(
                "Token accepted", timeout=WAIT_MS
            )
        finally:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "console-no-workers.png"), full_page=True)
            browser.close()
    assert not_found == [], f"requests answered 404: {not_found}"
    redis.close()


def _note_404(response: Response, found: list[str]) -> None:
    if response.status == 404:
        found.append(response.url)


def test_a_tenants_console_token_shows_that_tenant_only(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """With TENANTS_FILE, a tenant's console_token entered in the page shows its own
    conversations only, and says whose view it is."""
    tenants = tmp_path / "tenants.toml"
    tenants.write_text(
        f'[tenants.bistro]\nconsole_token = "{BISTRO_TOKEN}"\n'
        'telegram = [{bot_token = "111111:bistro"}]\n'
        '[tenants.salon]\ntelegram = [{bot_token = "222222:salon"}]\n'
    )
    redis = Redis.from_url(redis_server.url)
    redis.flushall()
    now_ms = int(time.time() * 1000)
    for conversation in ("tg:111111:501", "tg:222222:502"):
        keys = ConversationKeys(conversation)
        redis.rpush(keys.batch, '{"message_id": 1, "kind": "text", "text": "hello?"}')
        redis.hset(keys.info, mapping={"first_at": now_ms, "deadline": now_ms + 600_000})
        redis.zadd(PENDING_INDEX, {conversation: now_ms + 600_000})
    env = {**os.environ, "REDIS_URL": redis_server.url, "TENANTS_FILE": str(tenants)}
    process = subprocess.Popen(
        [sys.executable, "-m", "batchctl", "console", "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    found = re.search(r"(http://\S+) ", process.stdout.readline())
    assert found
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        page: Page = browser.new_page()
        try:
            page.goto(found.group(1))
            expect(page.locator("#pending")).to_contain_text("tg:222222:502", timeout=WAIT_MS)
            page.fill("#token", BISTRO_TOKEN)
            page.press("#token", "Enter")
            expect(page.locator("#action-result")).to_contain_text(
                "tenant bistro's conversations only", timeout=WAIT_MS
            )
            expect(page.locator("#tenant")).to_have_text("tenant bistro", timeout=WAIT_MS)
            expect(page.locator("#pending")).not_to_contain_text("tg:222222:502", timeout=WAIT_MS)
            expect(page.locator("#pending")).to_contain_text("tg:111111:501")
            expect(page.locator("#total-pending")).to_have_text("1")
            for deployments_own in ("#rates", "#workers-section", "#workers-total"):
                expect(page.locator(deployments_own)).to_be_hidden()
        finally:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "console-tenant.png"), full_page=True)
            browser.close()
            process.terminate()
    assert process.wait(timeout=10) == 0
    redis.close()
