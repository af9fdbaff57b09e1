"""Web chat channel: an embeddable widget, a full-page chat at `/` and a kiosk at `/kiosk`.

Browsers talk JSON frames over the WebSocket `/webchat/ws` and fall back to
`POST /webchat/message` when a proxy blocks WebSockets (protocol: docs/webchat.md). The pages
and the widget are plain files in `webchat_static/`; this module serves them under a strict
Content-Security-Policy, checks the Origin of cross-site use against `allowed_origins`,
rate-limits every connection and every client address (behind `server.trusted_proxies`; a
kiosk with a terminal token counts on its own) plus all clients together, answers a
redelivered message (same id) from the stored reply instead of handling it twice, and
renders a booking confirmation as a QR code for the kiosk.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import json
import logging
import math
import re
import secrets
import string
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import segno
from aiohttp import WSCloseCode, WSMsgType, web
from icalendar import Event
from pydantic import BaseModel, ConfigDict, Field, field_validator
from yarl import URL

from assistant.plugin import (
    LANGUAGES,
    BadJSON,
    Client,
    Incoming,
    Plugin,
    RateLimiter,
    Reply,
    catalog,
    client_gate,
    hookimpl,
    loads_json,
    read_json,
    t,
    when,
)

if TYPE_CHECKING:
    from assistant.plugin import Context

log = logging.getLogger(__name__)

NAME = "webchat"
STATIC = Path(__file__).with_name("webchat_static") / "assets"
PAGES = Path(__file__).with_name("webchat_static") / "pages"
SENDER = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_FRAME = 32 * 1024  # bytes of one WebSocket frame; texts are limited by max_message_chars
QUEUE = 4  # messages of one connection waiting to be answered
DUPLICATE_WAIT = 15.0  # seconds a redelivered message waits for the first one's answer
RECENT = 5000  # answers kept in memory for redeliveries to this process
QR_KEYS = {"book.done", "reschedule.done"}
HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


# -- settings ---------------------------------------------------------------------------------


class LocalText(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    de: str = Field(min_length=1, max_length=120)
    en: str = Field(min_length=1, max_length=120)


def contrast(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two `#rrggbb` colours."""

    def lum(c: str) -> float:
        rgb = [int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b_ = (x / 12.92 if x <= 0.04045 else ((x + 0.055) / 1.055) ** 2.4 for x in rgb)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b_

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


class WebchatSettings(BaseModel):
    """`channels.webchat` in config.yml."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    # Shown in the header, the page title and the widget; default from the message catalog.
    title: LocalText | None = None
    # Language of the page before the citizen chooses; default: config.yml default_language.
    default_language: Literal["de", "en"] | None = None
    # Header, own messages and buttons; white text must stay readable (WCAG AA, 4.5:1).
    primary_color: str = "#00508c"
    # Where the widget's launcher sits on the office's website.
    position: Literal["bottom-right", "bottom-left"] = "bottom-right"
    # Websites that may embed the widget (`https://www.kreis-meissen.de`): CORS for its API
    # calls, the WebSocket Origin check and `frame-ancestors` of the pages.
    allowed_origins: list[str] = Field(default_factory=list)
    # Kiosk: inactivity until the session is wiped, and how long the countdown shows before.
    kiosk_idle_seconds: int = Field(default=120, ge=5, le=3600)
    kiosk_countdown_seconds: int = Field(default=30, ge=3, le=300)
    # How long the page and the widget keep the conversation in the citizen's browser.
    history_minutes: int = Field(default=30, ge=0, le=24 * 60)
    # Where a booking confirmation also shows as a QR code to scan.
    qr_code: Literal["kiosk", "everywhere", "off"] = "kiosk"
    # Per WebSocket connection (or HTTP sender); the dialogue also limits per sender.
    messages_per_minute: int = Field(default=20, ge=1, le=600)
    # New connections plus HTTP messages per client IP address and minute (0: no limit; set
    # 0 behind a reverse proxy that does not pass the client's address, or all citizens share).
    per_ip_per_minute: int = Field(default=300, ge=0)
    max_connections: int = Field(default=1000, ge=1)
    # Links in the page footer (German sites need both).
    privacy_url: str | None = None
    imprint_url: str | None = None

    @field_validator("primary_color")
    @classmethod
    def _readable(cls, value: str) -> str:
        if not HEX.match(value):
            raise ValueError("use a colour like #00508c")
        ratio = contrast(value, "#ffffff")
        if ratio < 4.5:
            raise ValueError(f"white text on {value} has contrast {ratio:.1f}:1; WCAG AA needs "
                             "4.5:1, choose a darker colour")
        return value.lower()

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        out = []
        for origin in value:
            url = URL(origin)
            if url.scheme not in ("http", "https") or not url.host or url.path not in ("", "/") \
                    or url.query_string or url.fragment:
                raise ValueError(f"{origin!r} is not an origin like https://www.example.de "
                                 "(scheme and host, no path)")
            out.append(_origin_of(url))
        return out

    @field_validator("privacy_url", "imprint_url")
    @classmethod
    def _http(cls, value: str | None) -> str | None:
        if value is not None and URL(value).scheme not in ("http", "https"):
            raise ValueError("must be an http(s) URL")
        return value


def _origin_of(url: URL) -> str:
    return str(url.origin()).lower()


# -- replies as frames ------------------------------------------------------------------------


def render(ctx: Context, replies: list[Reply], qr: bool) -> list[dict[str, Any]]:
    """Replies as the browser gets them: text, buttons, language, optionally a QR code."""
    out = []
    for r in replies:
        item: dict[str, Any] = {"text": r.text, "language": r.language,
                                "buttons": [{"title": b.title, "payload": b.payload}
                                            for b in r.buttons]}
        if qr and r.key in QR_KEYS and isinstance(r.data.get("reference"), str):
            item["qr"] = qr_code(ctx, r)
        out.append(item)
    return out


def qr_code(ctx: Context, reply: Reply) -> dict[str, str]:
    """The confirmation as a QR code: an SVG data URI and its alt text."""
    payload, alt = qr_payload(ctx, reply)
    code = segno.make(payload, error="m")
    return {"src": code.svg_data_uri(scale=1, border=2, omitsize=True, dark="#000", light="#fff"),
            "alt": alt}


def qr_payload(ctx: Context, reply: Reply) -> tuple[str, str]:
    """What the QR code holds: the appointment as an iCalendar VEVENT (phone cameras offer
    "add to calendar", the reference is in the event), or just the reference; plus alt text."""
    lang, ref = reply.language, str(reply.data["reference"])
    appt = reply.data.get("appointment") or {}
    office = ctx.config.office(str(appt.get("office", "")))
    service = ctx.config.service(str(appt.get("service", "")))
    try:
        start, end = datetime.fromisoformat(appt["start"]), datetime.fromisoformat(appt["end"])
    except (KeyError, TypeError, ValueError):
        return ref, t("webchat.qr.alt_reference", lang, reference=ref)
    if office is None or service is None:
        return ref, t("webchat.qr.alt_reference", lang, reference=ref)
    ev = Event()
    ev.add("summary", t("webchat.qr.summary", lang, service=service.name.get(lang)))
    ev.add("dtstart", start.astimezone(UTC))
    ev.add("dtend", end.astimezone(UTC))
    ev.add("location", f"{office.name.get(lang)}, {office.address.one_line()}")
    ev.add("description", t("webchat.qr.description", lang, reference=ref))
    alt = t("webchat.qr.alt", lang, reference=ref, when=when(start.astimezone(office.tz), lang))
    return ev.to_ical().decode(), alt


# -- the channel ------------------------------------------------------------------------------


@dataclass
class Session:
    """One browser connection: who it is, what it may still send, how it speaks."""

    ws: web.WebSocketResponse
    limiter: RateLimiter
    client: Client
    sender: str | None = None
    language: str = "de"
    mode: str = "page"
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(QUEUE))


class ChatServer:
    """The server side of the web chat in one web app: its pages, the open WebSockets (by
    sender, so a reminder reaches an open chat), the HTTP fallback, limits and redeliveries."""

    def __init__(self, ctx: Context, app: web.Application, settings: WebchatSettings) -> None:
        self.ctx = ctx
        self.gate = client_gate(app, ctx)
        self.s = settings
        self.sockets: dict[str, set[web.WebSocketResponse]] = {}
        self.open: set[web.WebSocketResponse] = set()
        self.http_limiter = RateLimiter(self.s.messages_per_minute)
        self.ip_limiter = RateLimiter(self.s.per_ip_per_minute)
        self.recent: OrderedDict[str, asyncio.Future[list[dict[str, Any]]]] = OrderedDict()
        public = ctx.config.server.public_url
        self.trusted = set(self.s.allowed_origins)
        if public:
            self.trusted.add(_origin_of(URL(public)))

    @property
    def default_language(self) -> str:
        return self.s.default_language or self.ctx.config.default_language

    def lang(self, value: Any) -> str:
        return value if value in LANGUAGES else self.default_language

    # -- origins ------------------------------------------------------------------------------
    def origin_allowed(self, request: web.Request) -> bool:
        """No Origin (not a browser), our own origin, or one of `allowed_origins`."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        try:
            url = URL(origin)
        except ValueError:
            return False
        if not url.host:
            return False
        if _origin_of(url) in self.trusted:
            return True
        return url.authority.lower() == request.host.lower()

    def ip_allowed(self, client: Client) -> bool:
        """New connections plus HTTP messages of one client (address or kiosk terminal)."""
        return not self.s.per_ip_per_minute or self.ip_limiter.allow(client.key)

    def rate_limited(self, lang: str, wait: float, mid: str | None = None) -> dict[str, Any]:
        """The polite error frame for a client over the server's limits, with Retry-After."""
        frame = self.error("rate_limited", lang, mid=mid)
        frame["retry_after"] = max(1, math.ceil(wait))
        return frame

    def cors(self, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin and self.origin_allowed(request):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
        response.headers["Vary"] = "Origin"
        return response

    def refuse_origin(self, request: web.Request) -> web.Response:
        log.info("web chat refused origin %r (not in channels.webchat.allowed_origins)",
                 request.headers.get("Origin", "")[:100])
        return self.cors(request, web.json_response(
            {"error": "origin_not_allowed",
             "text": "This website is not in channels.webchat.allowed_origins."}, status=403))

    # -- one message --------------------------------------------------------------------------
    async def answer(self, sender: str, mid: str | None, text: str, language: str,
                     mode: str, client: Client | None = None) -> list[dict[str, Any]] | None:
        """The rendered replies to one message. A redelivered id (the browser re-sends what
        was unanswered when its connection dropped) gets the first answer instead of being
        handled twice: from memory in this process, else from the delivery record in the
        database (another worker, a restart). None if that answer is not there in time."""
        key = f"{sender}:{mid}" if mid else None
        if key is None:
            return await self._handle(sender, text, language, mode, client)
        earlier = self.recent.get(key)
        if earlier is not None:
            try:
                return list(await asyncio.wait_for(asyncio.shield(earlier), DUPLICATE_WAIT))
            except (TimeoutError, asyncio.CancelledError):
                return None
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        self.recent[key] = future
        while len(self.recent) > RECENT:
            self.recent.popitem(last=False)
        try:
            if await self.ctx.first_delivery(NAME, key):
                messages = await self._handle(sender, text, language, mode, client)
                await self.ctx.store_delivery_response(NAME, key, {"messages": messages})
            else:
                messages = await self._stored(key)
        except BaseException:
            self.recent.pop(key, None)
            future.cancel()
            raise
        if messages is None:
            self.recent.pop(key, None)
            future.cancel()
        else:
            future.set_result(messages)
        return messages

    async def _stored(self, key: str) -> list[dict[str, Any]] | None:
        for _ in range(int(DUPLICATE_WAIT / 0.25)):
            stored = await self.ctx.delivery_response(NAME, key)
            if stored is not None:
                return list(stored.get("messages", []))
            await asyncio.sleep(0.25)
        return None

    async def _handle(self, sender: str, text: str, language: str, mode: str,
                      client: Client | None = None) -> list[dict[str, Any]]:
        metadata = {"mode": mode, **(client.metadata() if client else {})}
        replies = await self.ctx.dialogue.handle(Incoming(
            channel=NAME, sender=sender, text=text, language=language, metadata=metadata))
        qr = self.s.qr_code == "everywhere" or (self.s.qr_code == "kiosk" and mode == "kiosk")
        return render(self.ctx, replies, qr)

    async def end(self, sender: str, language: str) -> None:
        """Abandon a conversation (kiosk "Fertig", "Neu beginnen"): release held slots."""
        await self.ctx.dialogue.handle(Incoming(channel=NAME, sender=sender, text="/restart",
                                                language=language, metadata={"mode": "end"}))

    def error(self, code: str, lang: str, mid: str | None = None, **params: Any) -> dict[str, Any]:
        frame: dict[str, Any] = {"type": "error", "code": code,
                                 "text": t(f"webchat.error.{code}", lang, **params)}
        if mid:
            frame["id"] = mid
        return frame

    # -- WebSocket ----------------------------------------------------------------------------
    async def websocket(self, request: web.Request) -> web.StreamResponse:
        if not self.origin_allowed(request):
            return self.refuse_origin(request)
        if len(self.open) >= self.s.max_connections:
            return web.json_response({"error": "busy"}, status=503,
                                     headers={"Retry-After": "30"})
        client = self.gate.client(request)
        if not self.ip_allowed(client):
            return web.json_response({"error": "rate_limited"}, status=429,
                                     headers={"Retry-After": "60"})
        ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME)
        await ws.prepare(request)
        session = Session(ws, RateLimiter(self.s.messages_per_minute), client,
                          language=self.default_language)
        self.open.add(ws)
        worker = asyncio.create_task(self._work(session))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._safe_frame(session, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    await ws.send_json(self.error("binary", session.language))
                elif msg.type == WSMsgType.ERROR:
                    break
        except ConnectionResetError:
            pass  # the browser went away while we answered
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            self.open.discard(ws)
            self._forget(session)
        return ws

    async def _safe_frame(self, session: Session, data: str) -> None:
        """A frame the code below did not foresee is answered with an error frame; the
        connection stays open."""
        try:
            await self._frame(session, data)
        except ConnectionResetError:
            raise
        except Exception:
            log.exception("web chat: failed to read a frame")
            await session.ws.send_json(self.error("internal", session.language))

    async def _frame(self, session: Session, data: str) -> None:
        ws, lang = session.ws, session.language
        try:
            frame = loads_json(data)
        except BadJSON:
            await ws.send_json(self.error("invalid_json", lang))
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind == "ping":
            await ws.send_json({"type": "pong"})
            return
        if not session.limiter.allow("frames"):
            await ws.send_json(self.error("rate_limited", lang, mid=_mid(frame)))
            return
        if kind == "hello":
            self._forget(session)
            session.language = self.lang(frame.get("language"))
            session.mode = frame.get("mode") if frame.get("mode") in (
                "page", "widget", "kiosk") else "page"
            sender = frame.get("sender")
            session.sender = sender if isinstance(sender, str) and SENDER.match(sender) \
                else new_sender()
            self.sockets.setdefault(session.sender, set()).add(ws)
            await ws.send_json({"type": "ready", "sender": session.sender})
        elif kind in ("message", "end"):
            if session.sender is None:
                await ws.send_json(self.error("no_session", lang, mid=_mid(frame)))
                return
            if kind == "message" and not _valid_message(frame):
                await ws.send_json(self.error("invalid_message", lang, mid=_mid(frame)))
                return
            wait = self.gate.take(session.client) if kind == "message" else 0
            if wait:
                await ws.send_json(self.rate_limited(lang, wait, mid=_mid(frame)))
                return
            try:
                session.queue.put_nowait(frame)
            except asyncio.QueueFull:
                await ws.send_json(self.error("busy", lang, mid=_mid(frame)))
                return
            if kind == "message":
                await ws.send_json({"type": "typing"})
        else:
            await ws.send_json(self.error("unknown_type", lang))

    async def _work(self, session: Session) -> None:
        """Answer the messages of one connection in order, one at a time."""
        ws = session.ws
        while True:
            frame = await session.queue.get()
            assert session.sender is not None
            try:
                if frame["type"] == "end":
                    await self.end(session.sender, session.language)
                    self._forget(session)
                    session.sender = new_sender()
                    self.sockets.setdefault(session.sender, set()).add(ws)
                    await ws.send_json({"type": "ready", "sender": session.sender,
                                        "ended": True})
                    continue
                session.language = self.lang(frame.get("language") or session.language)
                mid = frame.get("id")
                messages = await self.answer(session.sender, mid, frame["text"],
                                             session.language, session.mode, session.client)
                if messages is None:
                    await ws.send_json(self.error("retry", session.language, mid=mid))
                    continue
                if messages:
                    session.language = messages[-1]["language"]
                await ws.send_json({"type": "reply", "id": mid, "messages": messages})
            except ConnectionResetError:
                return
            except Exception:
                log.exception("web chat: failed to answer a message")
                with contextlib.suppress(ConnectionResetError):
                    await ws.send_json(self.error("internal", session.language,
                                                  mid=frame.get("id")))

    def _forget(self, session: Session) -> None:
        if session.sender and session.sender in self.sockets:
            self.sockets[session.sender].discard(session.ws)
            if not self.sockets[session.sender]:
                del self.sockets[session.sender]

    async def close_all(self, code: int = WSCloseCode.GOING_AWAY) -> None:
        for ws in list(self.open):
            await ws.close(code=code, message=b"server shutdown")

    # -- HTTP fallback ------------------------------------------------------------------------
    async def http_message(self, request: web.Request) -> web.StreamResponse:
        if not self.origin_allowed(request):
            return self.refuse_origin(request)
        lang = self.default_language
        try:
            body = await read_json(request)
        except BadJSON:
            return self._http_error(request, 400, self.error("invalid_json", lang))
        if not isinstance(body, dict):
            return self._http_error(request, 400, self.error("invalid_message", lang))
        lang = self.lang(body.get("language"))
        sender = body.get("sender")
        if not (isinstance(sender, str) and SENDER.match(sender)):
            sender = None
        client = self.gate.client(request)
        if not self.ip_allowed(client):
            return self._http_error(request, 429, self.error("rate_limited", lang))
        if body.get("type") == "end":
            if sender:
                await self.end(sender, lang)
            return self.cors(request, web.json_response({"sender": new_sender(), "ended": True}))
        if not _valid_message(body):
            return self._http_error(request, 400, self.error("invalid_message", lang))
        sender = sender or new_sender()
        if not self.http_limiter.allow(sender):
            return self._http_error(request, 429, self.error("rate_limited", lang))
        wait = self.gate.take(client)
        if wait:
            return self._http_error(request, 429, self.rate_limited(lang, wait))
        mode = body.get("mode") if body.get("mode") in ("page", "widget", "kiosk") else "page"
        messages = await self.answer(sender, body.get("id"), body["text"], lang, mode, client)
        if messages is None:
            return self._http_error(request, 409, self.error("retry", lang, mid=body.get("id")))
        return self.cors(request, web.json_response(
            {"sender": sender, "id": body.get("id"), "messages": messages}))

    def _http_error(self, request: web.Request, status: int, frame: dict[str, Any]) -> web.Response:
        body = {"error": frame["code"], "text": frame["text"]}
        headers = {}
        if "retry_after" in frame:
            body["retry_after"] = frame["retry_after"]
            headers["Retry-After"] = str(frame["retry_after"])
        return self.cors(request, web.json_response(body, status=status, headers=headers))

    async def preflight(self, request: web.Request) -> web.StreamResponse:
        if not self.origin_allowed(request):
            return self.refuse_origin(request)
        return self.cors(request, web.Response(status=204))

    # -- pages --------------------------------------------------------------------------------
    def client_config(self, mode: str, lang: str) -> dict[str, Any]:
        """What the browser script needs: looks, limits and every UI text in both languages."""
        s = self.s
        return {
            "title": {lg: self.title(lg) for lg in LANGUAGES},
            "language": lang,
            "primaryColor": s.primary_color,
            "position": s.position,
            "mode": mode,
            "maxChars": self.ctx.config.server.max_message_chars,
            "historyMinutes": s.history_minutes,
            "kioskIdleSeconds": s.kiosk_idle_seconds,
            "kioskCountdownSeconds": min(s.kiosk_countdown_seconds, s.kiosk_idle_seconds - 1),
            "privacyUrl": s.privacy_url,
            "imprintUrl": s.imprint_url,
            "version": static_version(),
            "strings": {lg: ui_strings(lg) for lg in LANGUAGES},
        }

    def title(self, lang: str) -> str:
        if self.s.title:
            return self.s.title.en if lang == "en" else self.s.title.de
        return t("webchat.title", lang)

    def page(self, request: web.Request, template: str, mode: str) -> web.Response:
        lang = self.lang(request.query.get("lang"))
        config = json.dumps(self.client_config(mode, lang), ensure_ascii=False)
        config = config.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
        body = page_template(template).safe_substitute(
            lang=lang,
            title=html.escape(self.title(lang)),
            static="/webchat/static",
            version=static_version(),
            config=config,
            noscript=html.escape(t("webchat.ui.noscript", lang)),
        )
        response = web.Response(text=body, content_type="text/html")
        self.secure_page(response)
        return response

    def secure_page(self, response: web.StreamResponse) -> None:
        ancestors = " ".join(["'self'", *sorted(self.s.allowed_origins)])
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; base-uri 'none'; form-action 'none'; "
            f"frame-ancestors {ancestors}"
        )
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        response.headers["Cache-Control"] = "no-cache"

    async def config_json(self, request: web.Request) -> web.StreamResponse:
        if not self.origin_allowed(request):
            return self.refuse_origin(request)
        lang = self.lang(request.query.get("lang"))
        return self.cors(request, web.json_response(self.client_config("widget", lang)))

    async def widget_js(self, _: web.Request) -> web.StreamResponse:
        response = web.FileResponse(STATIC / "widget.js")
        response.headers["Cache-Control"] = "public, max-age=300"
        return response


def _mid(frame: Any) -> str | None:
    mid = frame.get("id") if isinstance(frame, dict) else None
    return mid if isinstance(mid, str) and MESSAGE_ID.match(mid) else None


def _valid_message(frame: dict[str, Any]) -> bool:
    mid = frame.get("id")
    return isinstance(frame.get("text"), str) and (
        mid is None or (isinstance(mid, str) and bool(MESSAGE_ID.match(mid))))


def new_sender() -> str:
    return secrets.token_urlsafe(24)


@cache
def static_version() -> str:
    """A hash of the static files, appended to their URLs so browsers fetch new versions."""
    digest = hashlib.sha256()
    for path in sorted([*STATIC.rglob("*"), *PAGES.rglob("*")]):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@cache
def page_template(name: str) -> string.Template:
    return string.Template((PAGES / name).read_text(encoding="utf-8"))


def demo_page(base: str = "") -> str:
    """The sample county page with the widget embedded from `base` (the Amtsbote server)."""
    return page_template("demo.html").safe_substitute(
        base=html.escape(base), version=static_version(),
        widget_src=html.escape(f"{base}/webchat/widget.js"))


@cache
def ui_strings(lang: str) -> dict[str, str]:
    """Every `webchat.ui.*` and `webchat.kiosk.*` text, keyed without the prefix."""
    out = {}
    for key, text in catalog(lang).items():
        for prefix in ("webchat.ui.", "webchat.kiosk."):
            if key.startswith(prefix):
                out[key.removeprefix("webchat.")] = text
    return out


# -- hooks ------------------------------------------------------------------------------------

class Webchat(Plugin):
    """The web chat of one running app: its routes and the pushes to open chats."""

    settings_model = WebchatSettings
    settings: WebchatSettings

    def __init__(self, name: str, settings: WebchatSettings) -> None:
        super().__init__(name, settings)
        self.server: ChatServer | None = None

    @hookimpl
    def register_routes(self, app: web.Application, ctx: Context) -> None:
        server = self.server = ChatServer(ctx, app, self.settings)

        async def full_page(request: web.Request) -> web.Response:
            return server.page(request, "index.html", "page")

        async def kiosk(request: web.Request) -> web.Response:
            if "terminal" in request.query:
                # A kiosk set up with /kiosk?terminal=TOKEN: keep the token in a cookie and
                # drop it from the address bar (and the browser history).
                lang = request.query.get("lang")
                target = "/kiosk" + (f"?lang={lang}" if lang in LANGUAGES else "")
                response = web.Response(status=303, headers={"Location": target})
                if not server.gate.keep_terminal(request, response):
                    log.warning("kiosk page opened with an unknown terminal token")
                return response
            return server.page(request, "kiosk.html", "kiosk")

        async def demo(_: web.Request) -> web.Response:
            response = web.Response(text=demo_page(), content_type="text/html")
            server.secure_page(response)
            return response

        async def on_shutdown(_: web.Application) -> None:
            await server.close_all()

        app.router.add_get("/", full_page)
        app.router.add_get("/kiosk", kiosk)
        app.router.add_get("/webchat/demo", demo)
        app.router.add_get("/webchat/ws", server.websocket)
        app.router.add_post("/webchat/message", server.http_message)
        app.router.add_route("OPTIONS", "/webchat/message", server.preflight)
        app.router.add_get("/webchat/config.json", server.config_json)
        app.router.add_route("OPTIONS", "/webchat/config.json", server.preflight)
        app.router.add_get("/webchat/widget.js", server.widget_js)
        app.router.add_static("/webchat/static", STATIC)
        app.on_shutdown.append(on_shutdown)

    @hookimpl
    def deliver(self, ctx: Context, channel: str, recipient: str,
                replies: list[Reply]) -> Awaitable[bool] | None:
        """Push a message to a citizen whose chat is open right now; False when none is."""
        if channel != NAME:
            return None
        server = self.server

        async def push() -> bool:
            sockets = list(server.sockets.get(recipient, ())) if server else []
            frame = {"type": "reply", "id": None, "messages": render(ctx, replies, False)}
            sent = False
            for ws in sockets:
                with contextlib.suppress(ConnectionResetError):
                    await ws.send_json(frame)
                    sent = True
            return sent

        return push()

    @hookimpl
    def shutdown(self, ctx: Context) -> None:
        self.server = None

    @hookimpl
    def message_catalogs(self) -> list[Path]:
        return sorted(Path(__file__).with_name("locales").glob("webchat.*.po"))
