"""Shared bits of the HTTP layer: the app key for the context, JSON errors, staff auth, and
who a request comes from (client address behind trusted proxies, kiosk terminals) with the
per-client and global limits of the HTTP channels."""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import math
import os
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from assistant.config import ServerCfg
from assistant.context import Context
from assistant.ratelimit import RateLimiter, retry_after

log = logging.getLogger(__name__)

CTX = web.AppKey("ctx", Context)
TOKEN_ENV = "AMTSBOTE_API_TOKEN"


def json_error(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


# -- reading JSON from clients -----------------------------------------------------------------

MAX_JSON_DEPTH = 32  # nesting of objects and arrays; real requests need fewer than 10
_SURROGATE = re.compile(r"[\ud800-\udfff]")


class BadJSON(ValueError):
    """Input that is not JSON we accept: malformed, not UTF-8, nested deeper than
    `MAX_JSON_DEPTH`, a lone UTF-16 surrogate (`"\\ud800"`, which no UTF-8 text can hold)
    or a number that is no finite value (`NaN`, `1e999`)."""


def _no_constant(name: str) -> Any:
    raise BadJSON(f"{name} is not a JSON number")


def loads_json(data: str | bytes | bytearray, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON from a client. Every way in which the input can be bad raises `BadJSON`
    (a ValueError) and nothing else: nesting deep enough to exhaust the parser's stack
    (RecursionError) or deeper than `max_depth`, and strings that could not be stored,
    logged or sent on as UTF-8 later."""
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise BadJSON("not UTF-8") from None
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise BadJSON(f"nested deeper than {max_depth} levels") from None
    except BadJSON:
        raise
    except ValueError as exc:  # JSONDecodeError; an integer of more than 4300 digits
        raise BadJSON(str(exc)) from None
    _check(value, max_depth)
    return value


def _check(value: Any, max_depth: int) -> None:
    """Depth, strings and numbers of a parsed document (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise BadJSON("a lone UTF-16 surrogate in a string")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise BadJSON("a number out of range")
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise BadJSON(f"nested deeper than {max_depth} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


async def read_json(request: web.Request, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The request's body as JSON (see `loads_json`); `BadJSON` for anything else."""
    return loads_json(await request.read(), max_depth)


def require_staff(request: web.Request) -> None:
    """Staff endpoints need `Authorization: Bearer $AMTSBOTE_API_TOKEN`."""
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise web.HTTPServiceUnavailable(
            text='{"error": "staff API disabled: set AMTSBOTE_API_TOKEN"}',
            content_type="application/json",
        )
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer ") or not hmac.compare_digest(
        given.removeprefix("Bearer ").encode(), token.encode()
    ):
        raise web.HTTPUnauthorized(
            text='{"error": "staff token missing or wrong"}', content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )


# -- who is asking: client address, kiosk terminal, per-client and global limits ---------------

TERMINAL_HEADER = "X-Amtsbote-Terminal"
TERMINAL_COOKIE = "amtsbote_terminal"
MIN_TERMINAL_TOKEN = 16
_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


def _networks(values: list[str]) -> list[_Net]:
    return [ipaddress.ip_network(v, strict=False) for v in values]


def _ip(value: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if not value:
        return None
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[2001:db8::1]:443"
        value = value[1:value.index("]")]
    elif value.count(":") == 1:  # "192.0.2.1:443"
        value = value.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(value)
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)
    return mapped or ip


def _within(ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, nets: list[_Net]) -> bool:
    return ip is not None and any(ip.version == n.version and ip in n for n in nets)


def client_address(request: web.Request, trusted_proxies: list[str] | list[_Net]) -> str:
    """The client's IP address: the TCP peer's, unless the peer is a trusted proxy; then the
    right-most address in X-Forwarded-For that is not itself a trusted proxy (a client can put
    anything on the left of that header, only what our proxies appended is believed)."""
    trusted = [n if not isinstance(n, str) else ipaddress.ip_network(n, strict=False)
               for n in trusted_proxies]
    peer = _ip(request.remote)
    if peer is None:
        return request.remote or "unknown"
    if not _within(peer, trusted):
        return str(peer)
    hops = [h for v in request.headers.getall("X-Forwarded-For", []) for h in v.split(",")]
    client = peer
    for hop in reversed(hops):
        ip = _ip(hop)
        if ip is None:
            break  # garbage in the chain: stop at the last address we could trust
        client = ip
        if not _within(ip, trusted):
            break
    return str(client)


@dataclass(frozen=True)
class Client:
    """Who sent an HTTP request: the address, and the kiosk terminal when it identified
    itself with a valid terminal token."""

    ip: str
    terminal: str | None = None

    @property
    def key(self) -> str:
        return f"kiosk:{self.terminal}" if self.terminal else f"ip:{self.ip}"

    def metadata(self) -> dict[str, str]:
        """What the channel puts into `Incoming.metadata` (it overrides the client's own)."""
        out = {"client_ip": self.ip}
        if self.terminal:
            out["terminal"] = self.terminal
        return out


def kiosk_tokens(env: str) -> dict[str, str]:
    """token -> terminal name from `name=token,name=token` (a bare token is `kioskN`)."""
    out: dict[str, str] = {}
    for i, item in enumerate(os.environ.get(env, "").split(","), 1):
        item = item.strip()
        if not item:
            continue
        name, _, token = item.rpartition("=")
        name, token = name.strip() or f"kiosk{i}", token.strip()
        if len(token) < MIN_TERMINAL_TOKEN:
            log.warning("%s: the token of terminal %r is shorter than %d characters and is "
                        "ignored", env, name, MIN_TERMINAL_TOKEN)
            continue
        out[token] = name
    return out


class ClientGate:
    """The limits of the HTTP channels before a message reaches the dialogue: per client IP
    (or kiosk terminal) and for all clients together. One per web app, shared by REST and
    web chat (`client_gate`)."""

    def __init__(self, server: ServerCfg) -> None:
        self.server = server
        self.trusted = _networks(server.trusted_proxies)
        self.exempt = _networks(server.rate_limit_exempt)
        self.per_ip = RateLimiter(server.rate_limit_per_ip_per_minute)
        self.per_kiosk = RateLimiter(server.rate_limit_per_kiosk_per_minute)
        self.everyone = RateLimiter(server.rate_limit_global_per_minute)
        self.tokens = kiosk_tokens(server.kiosk_tokens_env)
        self._warned = False

    def terminal(self, token: str | None) -> str | None:
        """The terminal's name for a valid token (compared in constant time), else None."""
        if not token:
            return None
        given = token.strip().encode()
        found = None
        for known, name in self.tokens.items():
            if hmac.compare_digest(given, known.encode()):
                found = name
        return found

    def client(self, request: web.Request) -> Client:
        if not self.trusted and not self._warned and "X-Forwarded-For" in request.headers:
            self._warned = True
            log.warning("requests carry X-Forwarded-For but server.trusted_proxies is empty: "
                        "the proxy's address counts as the client's (see README, Security)")
        ip = client_address(request, self.trusted)
        token = request.headers.get(TERMINAL_HEADER) or request.cookies.get(TERMINAL_COOKIE)
        return Client(ip, self.terminal(token))

    def keep_terminal(self, request: web.Request, response: web.StreamResponse) -> bool:
        """When the kiosk page is opened with `?terminal=TOKEN` (a valid token), keep the token
        in an HttpOnly cookie the kiosk's browser sends with every later request."""
        token = request.query.get("terminal")
        if not self.terminal(token):
            return False
        secure = request.secure or (self.server.public_url or "").startswith("https:")
        response.set_cookie(TERMINAL_COOKIE, str(token), max_age=365 * 24 * 3600, path="/",
                            httponly=True, samesite="Strict", secure=secure)
        return True

    def take(self, client: Client) -> float:
        """Count one message of `client`: 0 when allowed, else seconds until it may retry."""
        if client.terminal:
            wait = self.per_kiosk.take(client.key)
        elif _within(_ip(client.ip), self.exempt):
            wait = 0
        else:
            wait = self.per_ip.take(client.key)
        if wait:
            return wait
        return self.everyone.take("global")


GATE = web.AppKey("client_gate", ClientGate)


def client_gate(app: web.Application, ctx: Context) -> ClientGate:
    """The web app's `ClientGate` (made by the first channel that asks)."""
    if GATE not in app:
        app[GATE] = ClientGate(ctx.config.server)
    return app[GATE]


def too_many_requests(seconds: float, **extra: object) -> web.Response:
    """429 with Retry-After (whole seconds) in the header and the JSON body."""
    wait = retry_after(seconds)
    response = json_error(429, "rate_limited", retry_after=wait, **extra)
    response.headers["Retry-After"] = str(wait)
    return response
