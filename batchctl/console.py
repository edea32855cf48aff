"""``python -m batchctl console``: a live page of what batchbot is doing, for operators.

The page polls ``/api/state`` about once a second (see :mod:`batchctl.console_state` for
what that costs Redis). Reading is open on loopback; replaying or purging a dead letter,
and handing a conversation a human took over back to the assistant (resume), need
``BATCHCTL_CONSOLE_TOKEN`` as a bearer token, and every action, allowed or refused,
is logged. Served beyond loopback, the page shows people's messages, so the token is
then required for reading too, and the console will not start without one.
Its HTML, JavaScript and CSS ship in this package: no CDN, no build step.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import Any

from aiohttp import web
from pydantic import Field, SecretStr
from redis.asyncio import Redis
from redis.exceptions import RedisError

from batchctl.console_state import console_state
from batchctl.console_tenants import ConsoleTenants
from shared.dead_letters import DeadLetters
from shared.handoff import Handoffs
from shared.redaction import tool_redactor
from shared.redis_settings import RedisConnectionSettings
from shared.replicated import ScriptRunner

log = logging.getLogger("batchbot.console")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATIC_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
}


class ConsoleSettings(RedisConnectionSettings):
    batchctl_console_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Bearer token the console asks for before replaying or purging a dead "
        "letter (and before showing anything, when served beyond loopback); unset: read-only.",
    )


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Console:
    """The console's HTTP side: the page, its state, and the token-guarded actions."""

    def __init__(
        self,
        redis: Redis,
        settings: ConsoleSettings,
        *,
        token_to_read: bool,
        tenants: ConsoleTenants | None = None,
    ) -> None:
        self.redis = redis
        self.tenants = tenants or ConsoleTenants(None)
        scripts = ScriptRunner(redis, settings.redis_wait_replicas)
        self.letters = DeadLetters(redis, settings.redis_key_ttl_seconds, scripts)
        self.handoffs = Handoffs(redis, settings.redis_key_ttl_seconds, scripts)
        token = settings.batchctl_console_token
        self._token = token.get_secret_value() if token is not None else None
        self._token_to_read = token_to_read
        self._redact = tool_redactor(settings)  # what it serves holds no secret

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._redis_errors])
        app.router.add_get("/", self._page)
        app.router.add_get("/static/{name}", self._static)
        app.router.add_get("/api/state", self._readable(self._state))
        app.router.add_get("/api/token", self._token_check)
        app.router.add_get("/api/dead-letters/{batch_id}", self._readable(self._letter))
        app.router.add_post("/api/dead-letters/{batch_id}/replay", self._action("replay"))
        app.router.add_post("/api/dead-letters/{batch_id}/purge", self._action("purge"))
        app.router.add_post("/api/handoffs/{conversation}/resume", self._resume)
        return app

    # -- who may do what ---------------------------------------------------------------
    async def _token_problem(self, request: web.Request) -> str | None:
        """Why this request's bearer token does not do, or None when it does (the
        operator's token, or a tenant's: :meth:`_tenant` says which)."""
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if given and await self.tenants.tenant_of_token(given) is not None:
            return None
        if self._token is None:
            return "this console is read-only: start it with BATCHCTL_CONSOLE_TOKEN set"
        if not given:
            return "this needs the console token (BATCHCTL_CONSOLE_TOKEN)"
        if not hmac.compare_digest(given.encode(), self._token.encode()):
            return "wrong console token"
        return None

    async def _tenant(self, request: web.Request) -> str | None:
        """The tenant whose console token the request bears: it sees only its own."""
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        return await self.tenants.tenant_of_token(given) if given else None

    def _readable(self, handler: Handler) -> Handler:
        async def guarded(request: web.Request) -> web.StreamResponse:
            if self._token_to_read and (problem := await self._token_problem(request)):
                return _problem(401, problem)
            return await handler(request)

        return guarded

    def _action(self, name: str) -> Handler:
        async def act(request: web.Request) -> web.StreamResponse:
            batch_id = request.match_info["batch_id"]
            problem = await self._token_problem(request)
            if problem is None and not await self._may_see_letter(request, batch_id):
                problem = "not a dead letter of this tenant's"
            if problem is not None:
                log.warning(
                    "console: %s of dead letter %s from %s refused: %s",
                    name,
                    batch_id,
                    request.remote,
                    problem,
                )
                return _problem(403 if self._token is None else 401, problem)
            if name == "replay":
                count = await self.letters.replay(batch_id)
                done = count is not None
                result = f"{count} message(s) queued again, due now"
            else:
                done = await self.letters.purge(batch_id)
                result = "purged"
            if not done:
                return _problem(404, f"no dead letter {batch_id} (replayed or purged already?)")
            log.warning("console: %s of dead letter %s from %s", name, batch_id, request.remote)
            return web.json_response({"batch_id": batch_id, "result": result})

        return act

    async def _resume(self, request: web.Request) -> web.StreamResponse:
        """Hand a conversation a human took over back to the assistant (token required)."""
        conversation = request.match_info["conversation"]
        problem = await self._token_problem(request)
        tenant = await self._tenant(request)
        if problem is None and tenant is not None and not self.tenants.owns(tenant, conversation):
            problem = "not a conversation of this tenant's"
        if problem is not None:
            log.warning(
                "console: resume of %s from %s refused: %s", conversation, request.remote, problem
            )
            return _problem(403 if self._token is None else 401, problem)
        if not await self.handoffs.resume(conversation):
            said = f"conversation {conversation} is not taken over (resumed already?)"
            return _problem(404, said)
        log.warning("console: conversation %s resumed from %s", conversation, request.remote)
        return web.json_response({"conversation": conversation, "result": "handed back"})

    async def _token_check(self, request: web.Request) -> web.StreamResponse:
        """The page checks a token when it is entered, not at the first action."""
        problem = await self._token_problem(request)
        if problem is not None:
            log.warning("console: a token check from %s failed: %s", request.remote, problem)
            return _problem(403 if self._token is None else 401, problem)
        tenant = await self._tenant(request)
        if tenant is not None:
            said = f"token accepted: tenant {tenant}'s conversations only"
            return web.json_response({"result": said, "tenant": tenant})
        return web.json_response({"result": "token accepted: replay and purge allowed"})

    async def _may_see_letter(self, request: web.Request, batch_id: str) -> bool:
        tenant = await self._tenant(request)
        if tenant is None:
            return True
        letter = await self.letters.get(batch_id)
        return letter is not None and self.tenants.owns(tenant, letter.conversation)

    # -- pages and data ----------------------------------------------------------------
    async def _page(self, request: web.Request) -> web.StreamResponse:
        return packaged_file("batchctl", "console.html")

    async def _static(self, request: web.Request) -> web.StreamResponse:
        return packaged_file("batchctl", request.match_info["name"])

    async def _state(self, request: web.Request) -> web.StreamResponse:
        state = await console_state(self.redis)
        tenant = await self._tenant(request)
        if tenant is not None:
            state = self.tenants.only(state, tenant)
        state["can_act"] = self._token is not None or tenant is not None
        return self._json(state)

    async def _letter(self, request: web.Request) -> web.StreamResponse:
        letter = await self.letters.get(request.match_info["batch_id"])
        tenant = await self._tenant(request)
        if letter is not None and tenant is not None:
            letter = letter if self.tenants.owns(tenant, letter.conversation) else None
        if letter is None:
            return _problem(404, "no such dead letter (replayed or purged already?)")
        shown: dict[str, Any] = dict(letter.fields)
        for name in ("messages", "chat", "user", "answer"):
            if shown.get(name):
                shown[name] = json.loads(shown[name])
        return self._json(shown)

    def _json(self, data: Any) -> web.Response:
        body = self._redact(json.dumps(data, ensure_ascii=False))
        return web.Response(text=body, content_type="application/json")

    @web.middleware
    async def _redis_errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except (RedisError, OSError) as error:
            log.warning("console: Redis did not answer: %s", error)
            return _problem(503, f"Redis did not answer ({type(error).__name__}); retrying")


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def packaged_file(package: str, name: str) -> web.Response:
    """A file of ``<package>/static``; only the names shipped there, nothing else on disk."""
    folder = resources.files(package).joinpath("static")
    suffix = "." + name.rsplit(".", 1)[-1]
    shipped = {entry.name for entry in folder.iterdir()}
    if name not in shipped or suffix not in STATIC_TYPES:
        raise web.HTTPNotFound()
    body = folder.joinpath(name).read_bytes()
    return web.Response(
        body=body, content_type=STATIC_TYPES[suffix], headers={"Cache-Control": "no-cache"}
    )


async def serve(
    settings: ConsoleSettings,
    redis: Redis,
    host: str,
    port: int,
    tenants: ConsoleTenants | None = None,
) -> web.AppRunner:
    """Start the console on ``host:port`` (port 0: any free one) and return its runner."""
    console = Console(redis, settings, token_to_read=not is_loopback(host), tenants=tenants)
    runner = web.AppRunner(console.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
