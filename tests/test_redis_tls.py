"""``rediss://`` with a password and a private CA: the bot, the workers and batchctl."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from sandbox.redis_server import RedisServer, TlsFiles
from sandbox.telegram_api import Person, TelegramStandIn
from shared.redis_connection import redis_client
from shared.settings import RedisConnectionSettings
from tests.conftest import Product, SettingsFactory, wait_until_idle

HAL = Person(id=9109, first_name="Hal")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it."""
    where = tmp_path_factory.mktemp("tls")
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-keyout", "ca.key", "-out", "ca.crt", "-subj", "/CN=batchbot test CA", cwd=where,
    )  # fmt: skip
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=127.0.0.1", cwd=where,
    )  # fmt: skip
    (where / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "1", "-out", "server.crt", "-extfile", "san.ext", cwd=where,
    )  # fmt: skip
    return TlsFiles(ca_cert=where / "ca.crt", cert=where / "server.crt", key=where / "server.key")


@pytest.fixture
def tls_redis(tls_files: TlsFiles) -> Iterator[RedisServer]:
    server = RedisServer(password="tls-and-a-password", tls=tls_files)
    server.start()
    yield server
    server.remove()


async def test_a_burst_is_answered_over_tls_with_a_password(
    tls_redis: RedisServer,
    tls_files: TlsFiles,
    make_settings: SettingsFactory,
    product: Product,
    telegram: TelegramStandIn,
) -> None:
    assert tls_redis.url.startswith("rediss://:tls-and-a-password@")
    settings = make_settings(redis_url=tls_redis.url, redis_tls_ca_file=tls_files.ca_cert)
    await product.start(settings)
    await telegram.person_says(HAL, "over")
    await telegram.person_says(HAL, "tls")
    [reply] = await telegram.wait_for_messages(HAL.id, 1)
    assert "2 message(s)" in reply and "over / tls" in reply
    redis = redis_client(settings)
    await wait_until_idle(redis)
    await redis.aclose()
    assert product.crashed() == []

    env = {**os.environ, "REDIS_URL": tls_redis.url, "REDIS_TLS_CA_FILE": str(tls_files.ca_cert)}
    inspect = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "batchctl", "inspect"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert inspect.returncode == 0, inspect.stderr
    assert inspect.stdout.startswith("0 conversation(s)")


async def test_a_server_certificate_from_an_unknown_ca_is_refused(tls_redis: RedisServer) -> None:
    """Without REDIS_TLS_CA_FILE the system's CAs are used, and they did not sign it."""
    redis: Redis = redis_client(RedisConnectionSettings(redis_url=tls_redis.url))
    with pytest.raises(RedisConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
        await redis.ping()
    await redis.aclose()
