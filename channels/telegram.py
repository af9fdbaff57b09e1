"""Telegram channel: citizens write to the office's bot, by webhook or by long polling.

Built on python-telegram-bot's `Bot` (HTTP layer, types, errors), without PTB's `Application`:
the core already owns the web server, the lifecycle, webhook deduplication and persistent state,
so this plugin adds one aiohttp route (`POST /webhooks/telegram`, webhook mode) or one polling
task (polling mode) and renders the dialogue's replies as Telegram messages.

- Webhook: `setWebhook` with a `secret_token` at start-up; every request must carry it in
  `X-Telegram-Bot-Api-Secret-Token` (constant-time compare) or gets 403.
- Polling: `getUpdates` with an offset persisted in `ctx.set_state`, so a restart neither
  loses nor repeats updates; `first_delivery` catches any update seen twice in either mode.
- Buttons become inline keyboards. Payloads longer than Telegram's 64-byte `callback_data`
  travel as short keys stored per chat. A clicked keyboard is replaced by the chosen title.
- `/start`, `/help`, `/abbrechen` are registered with `setMyCommands` in German and English.
- 429 answers (`RetryAfter`) are honoured: wait and retry, a bounded number of times.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import logging
import re
import time
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    Update,
    User,
)
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

from assistant.plugin import (
    BadJSON,
    ConfigError,
    Incoming,
    Plugin,
    RateLimiter,
    Reply,
    hookimpl,
    json_error,
    read_json,
    t,
)

if TYPE_CHECKING:
    from assistant.plugin import Context, Office

log = logging.getLogger(__name__)

NAME = "telegram"
WEBHOOK_PATH = "/webhooks/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ("message", "callback_query")
COMMANDS = ("start", "help", "abbrechen")
MAX_CALLBACK_BYTES = 64  # Telegram's limit for callback_data
MAX_TEXT = 4096  # Telegram's limit for one message, in UTF-16 code units
MAX_STORED_KEYS = 100  # long button payloads remembered per chat
SHORT_TITLE = 20  # buttons with titles up to this length go two to a row
NOTICE_DEBOUNCE = 0.2  # seconds to gather one staff notice fanned out to several offices
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s.*)?$", re.S)
_LOGGERS = ("httpx", "telegram.Bot", "telegram.request.BaseRequest", __name__)
T = TypeVar("T")


class TelegramSettings(BaseModel):
    """`channels.telegram` in config.yml. Secrets come in as `${TELEGRAM_TOKEN}` etc."""

    model_config = ConfigDict(extra="forbid")
    token: SecretStr  # from BotFather
    mode: Literal["webhook", "polling"] = "webhook"
    # Where Telegram posts updates; default: server.public_url + /webhooks/telegram.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None  # required in webhook mode
    max_connections: int = Field(default=40, ge=1, le=100)
    polling_timeout: int = Field(default=30, ge=1, le=50)
    # Staff notices (video calls, requests for a person): one chat for every office and/or
    # one per office id. Chat ids of groups are negative (-100...).
    staff_chat_id: int | str | None = None
    staff_chats: dict[str, int | str] = Field(default_factory=dict)
    # A self-hosted Bot API server (or a test fake) instead of Telegram's.
    api_url: str = "https://api.telegram.org"
    send_attempts: int = Field(default=3, ge=1, le=10)
    max_retry_after_seconds: float = Field(default=30, ge=0, le=600)

    @field_validator("webhook_url", "webhook_secret", "staff_chat_id", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value  # `${VAR:-}` left empty

    @field_validator("staff_chat_id")
    @classmethod
    def _chat_id(cls, value: int | str | None) -> int | str | None:
        return _chat(value) if value is not None else None

    @field_validator("staff_chats")
    @classmethod
    def _chat_ids(cls, value: dict[str, int | str]) -> dict[str, int | str]:
        return {office: _chat(chat) for office, chat in value.items()}

    @field_validator("token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _TOKEN.match(value.get_secret_value()):
            raise ValueError("does not look like a BotFather token (<digits>:<secret>); "
                             "check the TELEGRAM_TOKEN environment variable")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _SECRET.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters A-Z, a-z, 0-9, _ or - (Telegram's rule)")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramSettings:
        if self.mode == "webhook" and self.webhook_secret is None:
            raise ValueError("webhook mode needs webhook_secret (e.g. ${TELEGRAM_WEBHOOK_SECRET})")
        return self


def _chat(value: int | str) -> int | str:
    """Numeric chat ids as int; `@channelname` stays a string."""
    return int(value) if isinstance(value, str) and re.fullmatch(r"-?\d+", value) else value


class _Redact(logging.Filter):
    """Keeps the bot token and the webhook secret out of log lines: httpx logs every request
    URL (which holds the token), PTB logs the parameters of every call at DEBUG."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(s in message for s in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "<secret>")
            record.msg, record.args = message, None
        return True


# -- the running channel ------------------------------------------------------------------------


class TelegramChannel:
    """One bot for one running Amtsbote (`ctx`)."""

    def __init__(self, ctx: Context, settings: TelegramSettings) -> None:
        self.ctx, self.s = ctx, settings
        self._redact = _Redact(settings.token.get_secret_value(), settings.webhook_secret
                               .get_secret_value() if settings.webhook_secret else "")
        for name in _LOGGERS:  # before Bot(): it logs its URLs, token included, at DEBUG
            logging.getLogger(name).addFilter(self._redact)
        api = settings.api_url.rstrip("/")
        self.bot = Bot(
            settings.token.get_secret_value(),
            base_url=f"{api}/bot",
            base_file_url=f"{api}/file/bot",
            request=HTTPXRequest(connection_pool_size=32, read_timeout=10, write_timeout=10,
                                 connect_timeout=5, pool_timeout=5),
            get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=10,
                                             connect_timeout=5),
        )
        self.ready = False
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._retrying: asyncio.Task[None] | None = None
        self._waiting: asyncio.Future[Any] | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._media_limit = RateLimiter(5)  # polite "text only" answers per chat and minute
        self._rate_told: dict[str, float] = {}
        self._notices: dict[tuple[int | str, str], list[str]] = {}

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self) -> None:
        self._check_offices()
        try:
            await self._configure()
        except InvalidToken:
            log.error("Telegram rejected the bot token (channels.telegram.token): the channel "
                      "stays off until the token is fixed and Amtsbote restarted")
        except BadRequest as exc:
            log.error("Telegram refused the channel set-up: %s (check channels.telegram)",
                      exc.message)
        except TelegramError as exc:  # Telegram unreachable: keep trying in the background
            log.warning("Telegram not reachable at start-up (%s); retrying in the background",
                        _describe(exc))
            self._retrying = asyncio.create_task(self._configure_later())

    async def _configure(self) -> None:
        await self.bot.initialize()  # getMe: checks the token
        for lang, code in (("en", None), ("de", "de")):
            await self._call(lambda lang=lang, code=code: self.bot.set_my_commands(
                [BotCommand(c, t(f"telegram.command.{c}", lang)) for c in COMMANDS],
                language_code=code))
        if self.s.mode == "webhook":
            assert self.s.webhook_secret is not None
            secret = self.s.webhook_secret.get_secret_value()
            await self._call(lambda: self.bot.set_webhook(
                self.webhook_url(), allowed_updates=list(ALLOWED_UPDATES), secret_token=secret,
                max_connections=self.s.max_connections))
            log.info("Telegram webhook set for @%s", self.bot.username)
        else:
            await self._call(lambda: self.bot.delete_webhook(drop_pending_updates=False))
            self._poller = asyncio.create_task(self._poll(), name="telegram-polling")
            log.info("Telegram long polling started for @%s", self.bot.username)
        self.ready = True

    async def _configure_later(self) -> None:
        delay = 5.0
        while not self._stopping and not self.ready:
            await asyncio.sleep(delay)
            try:
                await self._configure()
            except (InvalidToken, BadRequest) as exc:
                log.error("Telegram refused the channel set-up (%s)", type(exc).__name__)
                return
            except TelegramError as exc:
                delay = min(delay * 2, 300)
                log.warning("Telegram still not reachable (%s); next try in %.0f s",
                            _describe(exc), delay)

    def webhook_url(self) -> str:
        if self.s.webhook_url:
            return self.s.webhook_url
        public = self.ctx.config.server.public_url
        if not public:
            raise ConfigError(f"{self.ctx.config.path}: channels.telegram: webhook mode needs "
                              "webhook_url or server.public_url (the HTTPS address Telegram "
                              "can reach); or use mode: polling")
        return public.rstrip("/") + WEBHOOK_PATH

    def _check_offices(self) -> None:
        known = {o.id for o in self.ctx.config.offices}
        unknown = sorted(set(self.s.staff_chats) - known)
        if unknown:
            raise ConfigError(
                f"{self.ctx.config.path}: channels.telegram.staff_chats: unknown office id(s) "
                f"{', '.join(unknown)} (known: {', '.join(sorted(known))})")
        if self.s.mode == "webhook":
            self.webhook_url()

    async def stop(self) -> None:
        self._stopping = True
        self.ready = False
        if self._retrying is not None:
            self._retrying.cancel()
        if self._waiting is not None:
            self._waiting.cancel()  # the long poll; a batch in progress may finish
        if self._poller is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._poller, timeout=10)
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:
                task.cancel()
        with contextlib.suppress(TelegramError, RuntimeError):
            await self.bot.shutdown()
        for name in _LOGGERS:
            logging.getLogger(name).removeFilter(self._redact)

    def _spawn(self, coro: Awaitable[T]) -> asyncio.Future[T]:
        """Run `coro` as a task that `stop()` waits for."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- incoming -----------------------------------------------------------------------------
    async def on_webhook(self, request: web.Request) -> web.Response:
        assert self.s.webhook_secret is not None
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.s.webhook_secret.get_secret_value().encode()):
            return json_error(403, "wrong or missing secret token")
        if not self.ready:
            return json_error(503, "Telegram channel is starting; retry later")
        try:
            data = await read_json(request)
        except BadJSON:
            return json_error(400, "invalid JSON")
        if not isinstance(data, dict) or type(data.get("update_id")) is not int:
            return json_error(400, "expected a Telegram Update with an integer update_id")
        if not await self.ctx.first_delivery(NAME, str(data["update_id"])):
            return web.Response(status=200)  # Telegram delivered it again: handled already
        try:
            update = Update.de_json(data, self.bot)
        except Exception:
            log.warning("Telegram update %s could not be read; ignored", data["update_id"])
            return web.Response(status=200)
        # Shielded: if Telegram hangs up early, the citizen's turn still completes.
        await asyncio.shield(self._spawn(self._process(update)))
        return web.Response(status=200)

    async def _dispatch(self, update: Update) -> None:
        """Polling: the same deduplication as for webhooks, then the same handling."""
        if await self.ctx.first_delivery(NAME, str(update.update_id)):
            await self._process(update)

    async def _process(self, update: Update) -> None:
        try:
            if update.message is not None:
                await self._on_message(update.message, update.update_id)
            elif update.callback_query is not None:
                await self._on_callback(update, update.update_id)
            else:
                log.debug("Telegram update %s of another type ignored", update.update_id)
        except Exception:
            log.exception("Telegram update %s failed", update.update_id)

    async def _on_message(self, msg: Message, update_id: int) -> None:
        chat = msg.chat
        lang = _language(msg.from_user)
        if chat.type != ChatType.PRIVATE:
            # Conversations hold personal data: only in private chats. Staff groups stay quiet.
            if (msg.text or "").startswith("/"):
                await self._send_text(chat.id, t("telegram.private_only", lang or "de"), None)
            return
        text = msg.text
        contact = msg.contact
        if text is None and contact and msg.from_user and contact.user_id == msg.from_user.id:
            text = _e164(contact.phone_number)  # "share my number" at the contact question
        if text is None:
            if self._media_limit.allow(str(chat.id)):
                await self._send_text(chat.id, t("telegram.not_text", lang or "de"), None)
            return
        await self._converse(chat.id, _command(text), lang, update_id)

    async def _on_callback(self, update: Update, update_id: int) -> None:
        query = update.callback_query
        assert query is not None
        lang = _language(query.from_user)
        chat = query.message.chat if query.message is not None else None
        chat_id = chat.id if chat is not None else query.from_user.id
        payload = await self._payload(chat_id, query.data) if (
            chat is None or chat.type == ChatType.PRIVATE) else None
        answer = None if payload else t("telegram.button_expired", lang or "de")
        with contextlib.suppress(TelegramError):  # a query older than ~15 min cannot be answered
            await self._call(lambda: self.bot.answer_callback_query(query.id, text=answer))
        if payload is None:
            return
        turn = self._converse(chat_id, payload, lang, update_id)
        if isinstance(query.message, Message):  # the edit need not wait for the answer
            await asyncio.gather(self._mark_chosen(query.message, query.data or "", lang or "de"),
                                 turn)
        else:
            await turn

    async def _converse(self, chat_id: int, text: str, lang: str | None, update_id: int) -> None:
        replies = await self.ctx.dialogue.handle(Incoming(
            channel=NAME, sender=str(chat_id), text=text, metadata={"update_id": update_id},
            language=lang))
        await self.send(chat_id, replies)

    async def _mark_chosen(self, msg: Message, data: str, lang: str) -> None:
        """Replace the clicked keyboard by the chosen title: the chat shows what was picked,
        and an old keyboard cannot be clicked twice."""
        title = next((b.text for row in (msg.reply_markup.inline_keyboard if msg.reply_markup
                                         else ()) for b in row if b.callback_data == data), None)
        text = msg.text or ""
        with contextlib.suppress(TelegramError):
            if title and text and _utf16(text) + len(title) + 8 <= MAX_TEXT:
                chosen = f"{text}\n\n{t('telegram.chosen', lang, choice=title)}"
                await self._call(lambda: self.bot.edit_message_text(
                    chosen, chat_id=msg.chat.id, message_id=msg.message_id, reply_markup=None,
                    link_preview_options=NO_PREVIEW))
            else:
                await self._call(lambda: self.bot.edit_message_reply_markup(
                    chat_id=msg.chat.id, message_id=msg.message_id, reply_markup=None))

    # -- polling ------------------------------------------------------------------------------
    async def _poll(self) -> None:
        state = await self.ctx.get_state(NAME, "polling") or {}
        offset: int | None = state.get("offset")
        backoff = 1.0
        while not self._stopping:
            try:
                self._waiting = asyncio.ensure_future(self.bot.get_updates(
                    offset=offset, timeout=self.s.polling_timeout,
                    allowed_updates=list(ALLOWED_UPDATES)))
                try:
                    updates = await self._waiting
                finally:
                    self._waiting = None
                backoff = 1.0
                if not updates:
                    continue
                await self._batch(updates)
                offset = max(u.update_id for u in updates) + 1
                await self.ctx.set_state(NAME, "polling", {"offset": offset})
            except asyncio.CancelledError:
                if self._stopping:
                    return
                raise
            except RetryAfter as exc:
                await asyncio.sleep(_retry_seconds(exc))
            except InvalidToken:
                log.error("Telegram rejected the bot token; polling stopped")
                return
            except Exception as exc:
                if isinstance(exc, Conflict):
                    log.warning("Telegram: another instance polls this bot, or a webhook is set")
                else:
                    log.warning("Telegram polling failed (%s); retry in %.0f s",
                                _describe(exc), backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60)

    async def _batch(self, updates: tuple[Update, ...]) -> None:
        """Chats in parallel, each chat's updates in order."""
        by_chat: dict[int | None, list[Update]] = {}
        for u in updates:
            chat = u.effective_chat
            by_chat.setdefault(chat.id if chat else None, []).append(u)

        async def run(items: list[Update]) -> None:
            for u in items:
                await self._dispatch(u)

        await asyncio.gather(*(run(items) for items in by_chat.values()))

    # -- outgoing -----------------------------------------------------------------------------
    async def send(self, chat_id: int | str, replies: list[Reply]) -> bool:
        """Send the replies in order; False if Telegram did not take one of them."""
        if replies and all(r.key == "error.rate_limited" for r in replies):
            last = self._rate_told.get(str(chat_id), 0.0)
            if time.monotonic() - last < 60:
                return True  # told once a minute is enough; flooding would only add 429s
            self._rate_told[str(chat_id)] = time.monotonic()
        for reply in replies:
            if not reply.text.strip() and not reply.buttons:
                continue
            markup, fallback = await self._markup(chat_id, reply)
            parts = _chunks(reply.text or "…")
            for i, part in enumerate(parts):
                last = i == len(parts) - 1
                if not await self._send_text(chat_id, part, markup if last else None,
                                             fallback if last else None):
                    return False
        return True

    async def _send_text(self, chat_id: int | str, text: str, markup: InlineKeyboardMarkup | None,
                         fallback: InlineKeyboardMarkup | None = None) -> bool:
        try:
            await self._call(lambda: self.bot.send_message(
                chat_id, text, reply_markup=markup, link_preview_options=NO_PREVIEW))
            return True
        except BadRequest as exc:
            if markup is not None and fallback is not markup:
                # Telegram refuses some link buttons (e.g. a non-public host); the text still
                # carries the link, so send it with the other buttons only.
                log.info("Telegram refused a keyboard (%s); sending without link button",
                         exc.message)
                return await self._send_text(chat_id, text, fallback, fallback)
            log.warning("Telegram refused a message: %s", exc.message)
        except Forbidden:
            log.info("a Telegram chat blocked the bot or removed it; message dropped")
        except ChatMigrated as exc:
            log.error("a Telegram group became a supergroup with chat id %s: update "
                      "channels.telegram staff chat ids", exc.new_chat_id)
        except TelegramError as exc:
            log.warning("Telegram message not sent: %s", _describe(exc))
        return False

    async def _call(self, request: Callable[[], Awaitable[T]]) -> T:
        """One Bot API call; waits out 429s (`RetryAfter`) and retries connection failures,
        a bounded number of times. A timeout is not retried: the message may have arrived."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await request()
            except RetryAfter as exc:
                wait = _retry_seconds(exc)
                if attempt >= self.s.send_attempts or wait > self.s.max_retry_after_seconds:
                    raise
                log.info("Telegram asks to slow down: waiting %.0f s", wait)
                await asyncio.sleep(wait)
            except (BadRequest, TimedOut):
                raise
            except NetworkError:
                if attempt >= self.s.send_attempts:
                    raise
                await asyncio.sleep(0.5 * 2 ** (attempt - 1))

    async def _markup(self, chat_id: int | str, reply: Reply
                      ) -> tuple[InlineKeyboardMarkup | None, InlineKeyboardMarkup | None]:
        """The keyboard for a reply, and the same without its link button (fallback)."""
        rows: list[list[InlineKeyboardButton]] = []
        row: list[InlineKeyboardButton] = []
        datas = await self._callback_data(chat_id, [b.payload for b in reply.buttons])
        for button, data in zip(reply.buttons, datas, strict=True):
            key = InlineKeyboardButton(button.title, callback_data=data)
            if len(button.title) > SHORT_TITLE:
                if row:
                    rows.append(row)
                    row = []
                rows.append([key])
                continue
            row.append(key)
            if len(row) == 2:
                rows.append(row)
                row = []
        if row:
            rows.append(row)
        plain = InlineKeyboardMarkup(rows) if rows else None
        url = reply.data.get("url")
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            link = [InlineKeyboardButton(t("telegram.open_video", reply.language), url=url)]
            return InlineKeyboardMarkup([link, *rows]), plain
        return plain, plain

    # -- long button payloads -----------------------------------------------------------------
    async def _callback_data(self, chat_id: int | str, payloads: list[str]) -> list[str]:
        """Payloads that fit 64 bytes go as they are; longer ones as `k:<key>`, remembered for
        this chat (the newest MAX_STORED_KEYS)."""
        out, new = [], {}
        for payload in payloads:
            if len(payload.encode()) <= MAX_CALLBACK_BYTES:
                out.append(payload)
                continue
            key = base64.urlsafe_b64encode(hashlib.sha256(payload.encode()).digest())[:16]
            new[key.decode()] = payload
            out.append(f"k:{key.decode()}")
        if new:
            async with self._lock(chat_id):
                state = await self.ctx.get_state(NAME, f"buttons:{chat_id}") or {}
                pairs = [p for p in state.get("pairs", []) if p[0] not in new]
                pairs = [*pairs, *([k, v] for k, v in new.items())][-MAX_STORED_KEYS:]
                await self.ctx.set_state(NAME, f"buttons:{chat_id}", {"pairs": pairs})
        return out

    async def _payload(self, chat_id: int | str, data: str | None) -> str | None:
        if not data:
            return None
        if data.startswith("/"):
            return data
        if data.startswith("k:"):
            state = await self.ctx.get_state(NAME, f"buttons:{chat_id}") or {}
            return dict(state.get("pairs", [])).get(data[2:])
        return None

    def _lock(self, chat_id: int | str) -> asyncio.Lock:
        if len(self._locks) > 10_000:
            self._locks = {k: v for k, v in self._locks.items() if v.locked()}
        return self._locks.setdefault(str(chat_id), asyncio.Lock())

    # -- staff notices ------------------------------------------------------------------------
    def staff_notice(self, office: Office, text: str) -> None:
        """Post in the background (a citizen's turn never waits for Telegram); one request
        fanned out to several offices with the same chat is posted once."""
        chat = self.s.staff_chats.get(office.id, self.s.staff_chat_id)
        if chat is None:
            return
        key = (chat, text)
        if key in self._notices:
            self._notices[key].append(office.name.de)
            return
        self._notices[key] = [office.name.de]
        self._spawn(self._post_notice(key))

    async def _post_notice(self, key: tuple[int | str, str]) -> None:
        await asyncio.sleep(NOTICE_DEBOUNCE)
        offices = self._notices.pop(key, [])
        chat, text = key
        body = t("telegram.staff_notice", "de", office=", ".join(offices), text=text)
        if not await self._send_text(chat, body, None):
            log.error("staff notice could not be posted to the Telegram staff chat")


# -- helpers ------------------------------------------------------------------------------------


def _language(user: User | None) -> str | None:
    code = ((user.language_code if user else None) or "").split("-")[0].lower()
    return code if code in ("de", "en") else None


def _command(text: str) -> str:
    """`/start@AmtsboteBot` and deep links (`/start abc`) as the plain command."""
    m = _COMMAND.match(text.strip())
    return f"/{m.group(1).lower()}" if m and "{" not in text else text


def _e164(phone: str) -> str:
    digits = phone.strip().replace(" ", "")
    return digits if digits.startswith("+") else f"+{digits}"


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _chunks(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a long text at line ends into Telegram-sized messages."""
    if _utf16(text) <= limit:
        return [text]
    out: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while _utf16(line) > limit:  # one enormous line: cut it hard
            if current:
                out.append(current)
                current = ""
            out.append(line[: limit // 2])
            line = line[limit // 2:]
        if _utf16(current + line) > limit:
            out.append(current)
            current = ""
        current += line
    if current:
        out.append(current)
    return [c for c in out if c.strip()]


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns about the int/timedelta migration
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {getattr(exc, 'message', '') or exc}"


# -- hooks --------------------------------------------------------------------------------------

class Telegram(Plugin):
    """The Telegram channel of one running app: its bot, started with the app."""

    settings_model = TelegramSettings
    settings: TelegramSettings

    def __init__(self, name: str, settings: TelegramSettings) -> None:
        super().__init__(name, settings)
        self.channel: TelegramChannel | None = None

    @hookimpl
    async def startup(self, ctx: Context) -> None:
        self.channel = TelegramChannel(ctx, self.settings)
        await self.channel.start()

    @hookimpl
    def shutdown(self, ctx: Context) -> Awaitable[None] | None:
        channel, self.channel = self.channel, None
        return channel.stop() if channel is not None else None

    @hookimpl
    def register_routes(self, app: web.Application, ctx: Context) -> None:
        if self.settings.mode != "webhook":
            return

        async def webhook(request: web.Request) -> web.Response:
            if self.channel is None:
                return json_error(503, "Telegram channel is not running")
            return await self.channel.on_webhook(request)

        app.router.add_post(WEBHOOK_PATH, webhook)

    @hookimpl
    def deliver(self, ctx: Context, channel: str, recipient: str, replies: list[Reply]
                ) -> Awaitable[bool] | None:
        if channel != NAME:
            return None
        running = self.channel

        async def send() -> bool:
            if running is None or not running.ready:
                return False
            return await running.send(_chat(recipient), replies)

        return send()

    @hookimpl
    def staff_notice(self, ctx: Context, office: Office, kind: str, text: str) -> None:
        if self.channel is not None:
            self.channel.staff_notice(office, text)

    @hookimpl
    def message_catalogs(self) -> list[Path]:
        return sorted(Path(__file__).with_name("locales").glob("telegram.*.po"))
