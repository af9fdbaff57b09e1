"""A local stand-in for Telegram's Bot API (https://core.telegram.org/bots/api), for tests.

No Telegram server can run here, so this small aiohttp app answers `/bot<token>/<method>` the
way the documentation describes: parameters in the query string, as a form (non-string values
JSON-encoded), as JSON or as multipart; answers `{"ok": true, "result": ...}` or
`{"ok": false, "error_code": ..., "description": ..., "parameters": {...}}`. It

- records every call and keeps the messages the bot sent, per chat, as Message objects;
- validates what Telegram validates and the bot could get wrong (unknown chat, empty or too
  long text, callback_data over 64 bytes, answering a callback query twice, editing to the
  same content, getUpdates while a webhook is set, secret token charset);
- queues updates for getUpdates (long polling; an offset confirms every older update);
- posts updates to the registered webhook as Telegram does (JSON body, secret token header);
- fails the next call(s) of a method on request (`fail_next`, e.g. 429 with retry_after).

    async with FakeTelegram() as tg:
        bot_config(api_url=tg.url, token=tg.token)
        await tg.push(tg.text(chat_id, "Hallo"))      # webhook mode
        tg.queue(tg.text(chat_id, "Hallo"))           # polling mode
        await tg.wait_for(lambda: tg.messages(chat_id))
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestServer

from assistant.testing.harness import DEFAULT_NOW

TOKEN = "123456789:AAHfakeTokenForTheLocalBotApiFake_0123"
BOT_USER = {"id": 123456789, "is_bot": True, "first_name": "Amtsbote", "username": "AmtsboteBot",
            "can_join_groups": True, "can_read_all_group_messages": False,
            "supports_inline_queries": False, "can_connect_to_business": False,
            "has_main_web_app": False}
_JSON_FIELDS = {"reply_markup", "allowed_updates", "commands", "scope", "link_preview_options",
                "entities", "reply_parameters"}
_INT_FIELDS = {"offset", "limit", "timeout", "message_id", "max_connections", "cache_time"}
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
REGISTERED = object()  # push(): use the secret token given to setWebhook


class ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    result: Any = None


@dataclass
class FakeTelegram:
    token: str = TOKEN
    port: int | None = None  # None: any free port
    calls: list[Call] = field(default_factory=list)
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    sent: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    webhook: dict[str, Any] | None = None
    commands: dict[tuple[str, str], list[dict[str, str]]] = field(default_factory=dict)
    pending: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, list[tuple[int, str, dict[str, Any] | None]]] = field(
        default_factory=dict)
    callback_queries: dict[str, bool] = field(default_factory=dict)  # id -> answered
    # Telegram's own clock for the "date" of messages; a test passes its harness clock
    clock: Callable[[], datetime] = field(default=lambda: DEFAULT_NOW)

    def __post_init__(self) -> None:
        self._update_ids = itertools.count(700_000_001)
        self._message_ids = itertools.count(1)
        self._query_ids = itertools.count(4_200_000_001)
        self._new_update = asyncio.Event()
        self._server: TestServer | None = None
        self._client: aiohttp.ClientSession | None = None

    def _stamp(self) -> int:
        return int(self.clock().timestamp())

    # -- server -----------------------------------------------------------------------------
    async def __aenter__(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._server = TestServer(app, host="127.0.0.1", port=self.port)
        await self._server.start_server(access_log=None)  # Telegram's side: not our log
        self._client = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.close()
        if self._server is not None:
            await self._server.close()

    @property
    def url(self) -> str:
        """The `api_url` for the bot (without `/bot<token>`)."""
        assert self._server is not None
        return str(self._server.make_url("")).rstrip("/")

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = Call(method, {}, time.monotonic())
        self.calls.append(call)
        if request.match_info["token"] != self.token:
            call.status = 401
            return _error(401, "Unauthorized")
        try:
            call.params = await _params(request)
            queued = self.failures.get(method.lower())
            if queued:
                code, description, parameters = queued.pop(0)
                raise ApiError(code, description, parameters)
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            result = call.result = await handler(call.params)
        except ApiError as exc:
            call.status = exc.code
            return _error(exc.code, exc.description, exc.parameters)
        return web.json_response({"ok": True, "result": result})

    def fail_next(self, method: str, error_code: int = 429, *, retry_after: int | None = 1,
                  description: str | None = None, times: int = 1) -> None:
        """The next `times` calls of `method` fail like Telegram's flood control (default)."""
        if description is None:
            description = (f"Too Many Requests: retry after {retry_after}" if error_code == 429
                           else "Bad Request")
        parameters = {"retry_after": retry_after} if error_code == 429 and retry_after else None
        self.failures.setdefault(method.lower(), []).extend(
            [(error_code, description, parameters)] * times)

    # -- Bot API methods --------------------------------------------------------------------
    async def _m_getme(self, p: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def _m_setmycommands(self, p: dict[str, Any]) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise ApiError(400, "Bad Request: commands must be an array of at most 100")
        for c in commands:
            if not _COMMAND.match(str(c.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(c.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        scope = (p.get("scope") or {}).get("type", "default")
        self.commands[(scope, p.get("language_code") or "")] = commands
        return True

    async def _m_setwebhook(self, p: dict[str, Any]) -> bool:
        url = p.get("url")
        if not isinstance(url, str):
            raise ApiError(400, "Bad Request: parameter \"url\" is required")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET.match(secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        if not url:
            self.webhook = None
            return True
        self.webhook = {"url": url, "secret_token": secret,
                        "allowed_updates": p.get("allowed_updates"),
                        "max_connections": p.get("max_connections", 40)}
        if p.get("drop_pending_updates") in (True, "true"):
            self.pending.clear()
        return True

    async def _m_deletewebhook(self, p: dict[str, Any]) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates") in (True, "true"):
            self.pending.clear()
        return True

    async def _m_getwebhookinfo(self, p: dict[str, Any]) -> dict[str, Any]:
        info = {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        if self.webhook:
            info.update(url=self.webhook["url"], max_connections=self.webhook["max_connections"])
            if self.webhook["allowed_updates"]:
                info["allowed_updates"] = self.webhook["allowed_updates"]
        info["pending_update_count"] = len(self.pending)
        return info

    async def _m_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset, limit = p.get("offset"), min(max(p.get("limit") or 100, 1), 100)
        deadline = time.monotonic() + (p.get("timeout") or 0)
        while True:
            if offset is not None:  # confirms every update below the offset
                self.pending = [u for u in self.pending if u["update_id"] >= offset]
            if self.pending or time.monotonic() >= deadline:
                return self.pending[:limit]
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())

    async def _m_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p.get("chat_id"))
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        message = {"message_id": next(self._message_ids), "from": BOT_USER, "chat": chat,
                   "date": self._stamp(), "text": text}
        markup = _check_markup(p.get("reply_markup"))
        if markup:
            message["reply_markup"] = markup
        self.sent.setdefault(chat["id"], []).append(message)
        return message

    async def _m_editmessagetext(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._message(p)
        text = p.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        markup = _check_markup(p.get("reply_markup"))
        if text == message["text"] and markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        message["text"] = text
        _set_markup(message, markup)
        message["edit_date"] = self._stamp()
        return message

    async def _m_editmessagereplymarkup(self, p: dict[str, Any]) -> dict[str, Any]:
        message = self._message(p)
        markup = _check_markup(p.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        _set_markup(message, markup)
        message["edit_date"] = self._stamp()
        return message

    async def _m_answercallbackquery(self, p: dict[str, Any]) -> bool:
        qid = str(p.get("callback_query_id"))
        if self.callback_queries.get(qid, True):  # unknown or answered already
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or "
                                "query ID is invalid")
        if len(str(p.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self.callback_queries[qid] = True
        return True

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        try:
            chat = self.chats.get(int(chat_id))
        except (TypeError, ValueError):
            chat = None
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        return chat

    def _message(self, p: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(p.get("chat_id"))
        for message in self.sent.get(chat["id"], []):
            if message["message_id"] == p.get("message_id"):
                return message
        raise ApiError(400, "Bad Request: message to edit not found")

    # -- citizens and their updates ---------------------------------------------------------
    def user(self, chat_id: int, language_code: str | None = "de",
             first_name: str = "Anna") -> dict[str, Any]:
        user = {"id": chat_id, "is_bot": False, "first_name": first_name}
        if language_code:
            user["language_code"] = language_code
        self.chats.setdefault(chat_id, {"id": chat_id, "type": "private",
                                        "first_name": first_name})
        return user

    def group(self, chat_id: int, title: str = "Bürgerbüro Team") -> dict[str, Any]:
        """A (super)group the bot is a member of, e.g. the staff chat."""
        chat = {"id": chat_id, "type": "supergroup" if chat_id < -10**12 else "group",
                "title": title}
        self.chats[chat_id] = chat
        return chat

    def message(self, chat_id: int, text: str | None = None, *, language_code: str | None = "de",
                from_id: int | None = None, **fields: Any) -> dict[str, Any]:
        """An Update with a new message (text, or other fields like `sticker`) in a private
        chat, or in a group made with `group()` (then from the user `from_id`)."""
        user = self.user(from_id or chat_id, language_code)
        message: dict[str, Any] = {
            "message_id": next(self._message_ids), "from": user, "chat": self.chats[chat_id],
            "date": self._stamp(), **fields}
        if text is not None:
            message["text"] = text
            if text.startswith("/"):
                length = len(text.split()[0])
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return {"update_id": next(self._update_ids), "message": message}

    def sticker(self, chat_id: int, language_code: str | None = "de") -> dict[str, Any]:
        return self.message(chat_id, language_code=language_code, sticker={
            "file_id": "CAACAgIAAxkBAAIBW2ZmSticker", "file_unique_id": "AgADsticker",
            "type": "regular", "width": 512, "height": 512, "is_animated": False,
            "is_video": False, "emoji": "👍"})

    def click(self, chat_id: int, title_part: str, language_code: str | None = "de"
              ) -> dict[str, Any]:
        """An Update as when the citizen taps the newest button whose title contains
        `title_part` (case-insensitive) in a message the bot sent to this chat."""
        for message in reversed(self.sent.get(chat_id, [])):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if title_part.casefold() in button["text"].casefold() and (
                            "callback_data" in button):
                        return self.callback(chat_id, message, button["callback_data"],
                                             language_code)
        raise AssertionError(f"no button {title_part!r} in chat {chat_id}: {self.buttons(chat_id)}")

    def callback(self, chat_id: int, message: dict[str, Any], data: str,
                 language_code: str | None = "de") -> dict[str, Any]:
        qid = str(next(self._query_ids))
        self.callback_queries[qid] = False
        query = {"id": qid, "from": self.user(chat_id, language_code), "message": message,
                 "chat_instance": f"-{chat_id}77", "data": data}
        return {"update_id": next(self._update_ids), "callback_query": query}

    def queue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Make `update` available to getUpdates."""
        self.pending.append(update)
        self._new_update.set()
        return update

    async def push(self, update: dict[str, Any] | bytes, secret: Any = REGISTERED) -> int:
        """POST `update` to the registered webhook as Telegram does; returns the HTTP status.
        `secret` overrides the registered secret token (None: send no header); bytes are
        posted as they are (for malformed bodies)."""
        assert self.webhook is not None, "setWebhook was not called"
        assert self._client is not None
        token = self.webhook["secret_token"] if secret is REGISTERED else secret
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = token
        body = update if isinstance(update, bytes) else json.dumps(update)
        async with self._client.post(self.webhook["url"], data=body,
                                     headers=headers) as response:
            await response.read()
            return response.status

    # -- what the bot did -------------------------------------------------------------------
    def messages(self, chat_id: int) -> list[dict[str, Any]]:
        return list(self.sent.get(chat_id, []))

    def texts(self, chat_id: int) -> str:
        return "\n".join(m["text"] for m in self.sent.get(chat_id, []))

    def buttons(self, chat_id: int) -> list[str]:
        return [b["text"] for m in self.sent.get(chat_id, [])
                for row in m.get("reply_markup", {}).get("inline_keyboard", []) for b in row]

    def called(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method.lower() == method.lower()]

    async def wait_for(self, predicate: Callable[[], Any], seconds: float = 20) -> None:
        deadline = time.monotonic() + seconds
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError("the bot did not do what the test waited for")
            await asyncio.sleep(0.02)


def _error(code: int, description: str, parameters: dict[str, Any] | None = None
           ) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=code)


async def _params(request: web.Request) -> dict[str, Any]:
    """Bot API parameters from the query string, a form, multipart or a JSON body."""
    params: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise ApiError(400, "Bad Request: can't parse JSON") from None
        if isinstance(body, dict):
            params.update(body)
        return params
    if request.method == "POST" and request.can_read_body:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    for key, value in list(params.items()):
        if not isinstance(value, str):
            continue
        if key in _JSON_FIELDS:
            try:
                params[key] = json.loads(value)
            except json.JSONDecodeError:
                raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
        elif key in _INT_FIELDS or (key == "chat_id" and re.fullmatch(r"-?\d+", value)):
            params[key] = int(value)
        elif value in ("true", "false"):
            params[key] = value == "true"
    return params


def _check_markup(markup: Any) -> dict[str, Any] | None:
    if not markup:
        return None
    keyboard = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(keyboard, list):
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup JSON object")
    for row in keyboard:
        for button in row:
            if not button.get("text"):
                raise ApiError(400, "Bad Request: text buttons are unallowed in the inline "
                                    "keyboard")
            data, url = button.get("callback_data"), button.get("url")
            if (data is None) == (url is None):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button: exactly "
                                    "one of the optional fields must be used")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            if url is not None and not re.match(r"^(https?|tg)://", url):
                raise ApiError(400, f"Bad Request: inline keyboard button URL '{url}' is "
                                    "invalid: Unsupported URL protocol")
    return markup if any(keyboard) else None


def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
    if markup:
        message["reply_markup"] = markup
    else:
        message.pop("reply_markup", None)


@pytest_asyncio.fixture
async def telegram_api() -> AsyncIterator[FakeTelegram]:
    """A running Bot API fake; point `channels.telegram.api_url` at `telegram_api.url`."""
    async with FakeTelegram() as api:
        yield api
