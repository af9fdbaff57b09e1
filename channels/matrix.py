"""Matrix channel: a bot account on the office's homeserver answers citizens in direct chats.

The bot logs in with a password or access token from environment variables, accepts invites,
greets, and answers in the room it was addressed in (room id = the dialogue's sender, so
reminders reach the same room). Its device id, its sync token and the numbered options it last
offered per room are kept with `ctx.set_state`, and every message is handled once
(`ctx.first_delivery`), so a restart neither loses nor repeats a message. Matrix has no buttons:
options are numbered ("3 – Reisepass") and the citizen answers with the number or in words.
End-to-end encrypted rooms work when matrix-nio's `e2e` extra is installed; otherwise the bot
tells the citizen to open an unencrypted direct chat. A staff room per office receives notices
about video-call requests and requests for a person.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import html
import logging
import os
import re
import time
from collections import deque
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    InviteMemberEvent,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    MessageDirection,
    RoomMemberEvent,
    RoomMessage,
    RoomMessageEmote,
    RoomMessageNotice,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    SendRetryError,
    SyncError,
    SyncResponse,
    WhoamiResponse,
)
from nio.crypto import ENCRYPTION_ENABLED
from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.plugin import (
    Incoming,
    NumberedOptions,
    Plugin,
    Reply,
    hookimpl,
    listed_in_text,
    t,
)

if TYPE_CHECKING:
    from assistant.plugin import Context, Office

NAME = "matrix"
log = logging.getLogger(__name__)

# Events per room and sync; a longer gap (the bot was down) is fetched with /messages.
TIMELINE_LIMIT = 50
GAP_PAGES = 10
SEND_ATTEMPTS = 3
NOTICE_COALESCE_SECONDS = 0.2
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


class MatrixSettings(BaseModel):
    """`channels.matrix` in config.yml. Secrets are named by environment variable only."""

    model_config = ConfigDict(extra="forbid")
    homeserver: str = Field(pattern=r"^https?://")
    user_id: str = Field(pattern=r"^@[^:\s]+:\S+$")
    password_env: str = "MATRIX_PASSWORD"
    access_token_env: str = "MATRIX_ACCESS_TOKEN"
    device_name: str = "Amtsbote"
    # End-to-end encryption (needs `pip install "matrix-nio[e2e]"`); keys live in store_path.
    encryption: bool = True
    store_path: str = "var/matrix-store"
    store_key_env: str = "MATRIX_STORE_KEY"
    # Staff room (id `!…` or alias `#…`) for every office, and per office id to override it.
    staff_room: str | None = None
    staff_rooms: dict[str, str] = Field(default_factory=dict)
    # Homeservers whose users may invite the bot (empty: any); invites per inviter and hour.
    allowed_servers: list[str] = Field(default_factory=list)
    invites_per_hour: int = Field(default=20, ge=1)
    # The bot converses only in rooms with at most this many members (a direct chat: 2).
    max_room_members: int = Field(default=2, ge=2)
    sync_timeout_seconds: int = Field(default=30, ge=1, le=120)

    @field_validator("staff_room", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return value or None

    @field_validator("staff_rooms", mode="before")
    @classmethod
    def _drop_empty(cls, value: Any) -> Any:
        return {k: v for k, v in value.items() if v} if isinstance(value, dict) else value


class LoginFailed(Exception):
    """The homeserver refused the bot's credentials (or none were configured)."""


# -- rendering: replies to Matrix events, numbered options back to payloads --------------------


@dataclass
class RoomOptions(NumberedOptions):
    """The numbered options last offered in a room (the citizen answers with a number or an
    option's title), the room's language, and whether the how-to-answer hint was shown."""

    lang: str = "de"
    hinted: bool = False

    def as_state(self) -> dict[str, Any]:
        return {"payloads": self.payloads, "titles": self.titles, "lang": self.lang,
                "hinted": self.hinted}


def to_html(text: str) -> str:
    """Escaped HTML with links and line breaks."""
    escaped = html.escape(text, quote=True)
    linked = _URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
    return linked.replace("\n", "<br>")


def render(reply: Reply, options: NumberedOptions, hint: str | None = None) -> dict[str, Any]:
    """One reply as `m.room.message` content, its buttons numbered after `options` (and added).

    A slot offer already lists its slots as "1. …" in the text: those buttons keep their
    numbers and only the rest ("Andere Zeit") is appended.
    """
    first = len(options.payloads) + 1
    numbered = options.add(reply.buttons)
    extra = numbered[listed_in_text(reply) if first == 1 else 0:]
    body, formatted = reply.text, to_html(reply.text)
    if extra:
        body += "\n\n" + "\n".join(f"{n} – {b.title}" for n, b in extra)
        formatted += f'<ol start="{extra[0][0]}">' + "".join(
            f"<li>{html.escape(b.title)}</li>" for _, b in extra) + "</ol>"
    if hint and numbered:
        body += f"\n\n{hint}"
        formatted += f"<p><em>{html.escape(hint)}</em></p>"
    return {"msgtype": "m.text", "body": body, "format": "org.matrix.custom.html",
            "formatted_body": formatted}


def _strip_reply_fallback(event: RoomMessageText | RoomMessageEmote) -> str:
    """A Matrix reply starts with the quoted message ("> <@a:b> …"); keep only the new text."""
    body = event.body or ""
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    if "m.in_reply_to" in relates:
        lines = body.split("\n")
        while lines and lines[0].startswith(">"):
            lines.pop(0)
        body = "\n".join(lines).strip()
    return body


def _is_edit(event: RoomMessage | MegolmEvent) -> bool:
    relates = event.source.get("content", {}).get("m.relates_to") or {}
    return isinstance(relates, dict) and relates.get("rel_type") == "m.replace"


def _options_key(room_id: str) -> str:
    key = f"options:{room_id}"
    return key if len(key) <= 255 else f"options:{hashlib.sha256(room_id.encode()).hexdigest()}"


def _server(user_id: str) -> str:
    return user_id.split(":", 1)[-1]


class _Window:
    """At most `limit` events per key in the last `seconds` (in memory)."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        hits = self.hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True


# -- the bot ----------------------------------------------------------------------------------


class MatrixBot:
    def __init__(self, ctx: Context, settings: MatrixSettings) -> None:
        self.ctx = ctx
        self.s = settings
        self.e2e = settings.encryption and ENCRYPTION_ENABLED
        self.client: AsyncClient | None = None
        self.ready = asyncio.Event()
        self.idle = asyncio.Event()
        self.idle.set()
        self.stopping = False
        self.task: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.options: dict[str, RoomOptions] = {}
        self.staff_ids: dict[str, str] = {}  # configured id or alias -> room id
        self.pending_notices: dict[tuple[str, str, str], list[str]] = {}
        self.invites = _Window(settings.invites_per_hour, 3600)
        self.direct_only_told = _Window(1, 600)
        self.delay = 1.0

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        if self.s.encryption and not ENCRYPTION_ENABLED:
            log.warning("Matrix: end-to-end encryption needs `pip install \"matrix-nio[e2e]\"`; "
                        "the bot asks citizens in encrypted rooms to open an unencrypted chat")
        unknown = sorted(set(self.s.staff_rooms) - {o.id for o in self.ctx.config.offices})
        if unknown:
            log.warning("Matrix: staff_rooms names unknown office id(s) %s", ", ".join(unknown))
        self.task = asyncio.create_task(self._run(), name="matrix-sync")

    async def stop(self) -> None:
        self.stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle.wait(), timeout=15)
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.tasks:
            await asyncio.wait(self.tasks, timeout=10)
        if self.client is not None:
            await self.client.close()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run(self) -> None:
        while not self.stopping:
            try:
                if self.client is None:
                    self.client = await self._login()
                await self._sync_forever(self.client)
            except asyncio.CancelledError:
                raise
            except LoginFailed as exc:
                log.error("Matrix: login as %s failed: %s (retrying in %.0f s)", self.s.user_id,
                          exc, self.delay)
                await self._drop_client()
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                log.warning("Matrix: homeserver %s unreachable (%s); retrying in %.0f s",
                            self.s.homeserver, type(exc).__name__, self.delay)
            except Exception:
                log.exception("Matrix: sync failed; retrying in %.0f s", self.delay)
            if not self.stopping:
                await asyncio.sleep(self.delay)
                self.delay = min(self.delay * 2, 60.0)

    async def _drop_client(self) -> None:
        if self.client is not None:
            await self.client.close()
            self.client = None

    def _store_dir(self) -> Path:
        path = Path(self.s.store_path)
        if not path.is_absolute():
            path = self.ctx.config.path.parent / path
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path

    async def _login(self) -> AsyncClient:
        s = self.s
        saved = await self.ctx.get_state(NAME, "session") or {}
        device_id = saved.get("device_id") if saved.get("user_id") == s.user_id else None
        store = self._store_dir() if self.e2e else None
        if store is not None and device_id and not (store / f"{s.user_id}_{device_id}.db").exists():
            log.warning("Matrix: no encryption keys for device %s in %s; logging in as a new "
                        "device", device_id, store)
            device_id = None
        pickle_key = os.environ.get(s.store_key_env) or ""
        if self.e2e and not pickle_key:
            log.warning("Matrix: %s is not set; encryption keys are stored with a default "
                        "passphrase", s.store_key_env)
        config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0,
                                   encryption_enabled=self.e2e, store_sync_tokens=False,
                                   pickle_key=pickle_key or "amtsbote")
        client = AsyncClient(s.homeserver, s.user_id, device_id=device_id,
                             store_path=str(store) if store else "", config=config)
        token = os.environ.get(s.access_token_env)
        try:
            if token:
                client.access_token = token
                who = await client.whoami()
                if not isinstance(who, WhoamiResponse):
                    raise LoginFailed(f"{who.status_code} {who.message}")
                if who.user_id != s.user_id or not who.device_id:
                    raise LoginFailed(f"{s.access_token_env} belongs to {who.user_id}, "
                                      f"device {who.device_id}, not to {s.user_id}")
                client.restore_login(who.user_id, who.device_id, token)
            else:
                password = os.environ.get(s.password_env)
                if not password:
                    raise LoginFailed(f"set {s.password_env} or {s.access_token_env}")
                resp = await client.login(password, device_name=s.device_name)
                if not isinstance(resp, LoginResponse):
                    raise LoginFailed(f"{resp.status_code} {resp.message}")
            await self.ctx.set_state(NAME, "session",
                                     {"user_id": client.user_id, "device_id": client.device_id})
            if client.should_upload_keys:
                await client.keys_upload()
        except BaseException:
            await client.close()
            raise
        log.info("Matrix: logged in as %s (device %s, encryption %s)", client.user_id,
                 client.device_id, "on" if self.e2e else "off")
        return client

    # -- the sync loop ------------------------------------------------------------------------
    async def _sync_forever(self, client: AsyncClient) -> None:
        saved = await self.ctx.get_state(NAME, "sync") or {}
        since = saved.get("next_batch") if saved.get("user_id") == client.user_id else None
        first = True
        sync_filter = {"room": {"timeline": {"limit": TIMELINE_LIMIT}},
                       "presence": {"not_types": ["*"]}}
        while not self.stopping:
            resp = await client.sync(timeout=0 if first else self.s.sync_timeout_seconds * 1000,
                                     since=since, full_state=True if first else None,
                                     sync_filter=sync_filter)
            if isinstance(resp, SyncError):
                if resp.status_code == "M_UNKNOWN_TOKEN":
                    raise LoginFailed("the access token is no longer valid")
                raise RuntimeError(f"sync failed: {resp.status_code} {resp.message}")
            assert isinstance(resp, SyncResponse)
            self.delay = 1.0
            self.idle.clear()
            try:
                await self._crypto_chores(client)
                await self._process(client, resp, since)
                since = resp.next_batch
                await self.ctx.set_state(NAME, "sync",
                                         {"user_id": client.user_id, "next_batch": since})
                if first:
                    await self._join_staff_rooms(client)
                    first = False
                    self.ready.set()
            finally:
                self.idle.set()

    async def _crypto_chores(self, client: AsyncClient) -> None:
        """What nio's sync_forever does between syncs for end-to-end encryption."""
        if client.olm is None:
            return
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    async def _process(self, client: AsyncClient, resp: SyncResponse, since: str | None) -> None:
        for room_id, info in resp.rooms.invite.items():
            await self._on_invite(client, room_id, info.invite_state)
        if since is None:
            return  # the very first sync: everything in it is history
        batches = []
        for room_id, info in resp.rooms.join.items():
            events = list(info.timeline.events)
            if info.timeline.limited and info.timeline.prev_batch:
                events = await self._gap(client, room_id, info.timeline.prev_batch, since) + events
            batches.append(self._room(client, room_id, events))
        await asyncio.gather(*batches)

    async def _gap(self, client: AsyncClient, room_id: str, prev_batch: str,
                   since: str) -> list[Any]:
        """Events between the last sync and a limited timeline (the bot was down a while)."""
        events: list[Any] = []
        token = prev_batch
        for _ in range(GAP_PAGES):
            resp = await client.room_messages(room_id, start=token, end=since,
                                              direction=MessageDirection.back, limit=100)
            if not isinstance(resp, RoomMessagesResponse) or not resp.chunk:
                break
            events.extend(resp.chunk)
            if not resp.end or resp.end == token:
                break
            token = resp.end
        events.reverse()
        return events

    async def _room(self, client: AsyncClient, room_id: str, events: list[Any]) -> None:
        room = client.rooms.get(room_id)
        if room is None:
            return
        seen: set[str] = set()
        joined = None
        for i, event in enumerate(events):
            if (isinstance(event, RoomMemberEvent) and event.state_key == client.user_id
                    and event.membership == "join" and event.prev_membership != "join"):
                joined = i
        if joined is not None:  # history from before the bot joined is not for it
            join_id = events[joined].event_id
            events = events[joined + 1:]
            if await self.ctx.first_delivery(NAME, join_id):
                await self._guard(self._welcome(room))
        for event in events:
            if event.event_id in seen:
                continue
            seen.add(event.event_id)
            await self._guard(self._on_event(client, room, event))

    async def _guard(self, coro: Coroutine[Any, Any, None]) -> None:
        try:
            await coro
        except Exception:
            log.exception("Matrix: handling an event failed")

    # -- rooms ------------------------------------------------------------------------------
    async def _on_invite(self, client: AsyncClient, room_id: str, state: list[Any]) -> None:
        inviter = next((e.sender for e in state if isinstance(e, InviteMemberEvent)
                        and e.state_key == client.user_id and e.membership == "invite"), None)
        if inviter is None:
            return
        if self.s.allowed_servers and _server(inviter) not in self.s.allowed_servers:
            log.info("Matrix: declining an invite from a user on %s (server not allowed)",
                     _server(inviter))
            await client.room_leave(room_id)
            return
        if not self.invites.allow(inviter):
            log.warning("Matrix: declining an invite from a user on %s (too many invites)",
                        _server(inviter))
            await client.room_leave(room_id)
            return
        resp = await client.join(room_id)
        if not isinstance(resp, JoinResponse):
            log.warning("Matrix: joining %s failed: %s", room_id, resp.message)

    async def _join_staff_rooms(self, client: AsyncClient) -> None:
        wanted = {r for r in [self.s.staff_room, *self.s.staff_rooms.values()] if r}
        for ref in wanted:
            if ref in client.rooms:
                self.staff_ids[ref] = ref
                continue
            resp = await client.join(ref)
            if isinstance(resp, JoinResponse):
                self.staff_ids[ref] = resp.room_id
            else:
                log.warning("Matrix: cannot join staff room %s (%s); invite %s to it", ref,
                            resp.message, client.user_id)

    def _is_staff_room(self, room_id: str) -> bool:
        configured = {self.s.staff_room, *self.s.staff_rooms.values()}
        return room_id in configured or room_id in self.staff_ids.values()

    def _conversable(self, room: MatrixRoom) -> bool:
        return room.member_count <= self.s.max_room_members

    async def _welcome(self, room: MatrixRoom) -> None:
        if self._is_staff_room(room.room_id):
            return
        lang = self.ctx.config.default_language
        if room.encrypted and not self.e2e:
            await self._say(room.room_id, "matrix.encryption_off", lang)
        elif not self._conversable(room):
            if self.direct_only_told.allow(room.room_id):
                await self._say(room.room_id, "matrix.direct_only", lang)
        else:
            await self._converse(room.room_id, "/start", sender=None, event_id=None)

    async def _on_event(self, client: AsyncClient, room: MatrixRoom, event: Any) -> None:
        if getattr(event, "sender", None) == client.user_id:
            return
        if isinstance(event, RoomMemberEvent):
            if (event.membership in {"leave", "ban"} and room.joined_count <= 1
                    and not self._is_staff_room(room.room_id)):
                await self._leave(client, room.room_id)
            return
        if not isinstance(event, RoomMessage | MegolmEvent) or isinstance(
                event, RoomMessageNotice) or _is_edit(event):
            return  # state, reactions, other bots' notices, edits
        if not await self.ctx.first_delivery(NAME, event.event_id):
            return
        if self._is_staff_room(room.room_id):
            return
        lang = (await self._options(room.room_id)).lang
        if not self._conversable(room):
            if self.direct_only_told.allow(room.room_id):
                await self._say(room.room_id, "matrix.direct_only", lang)
            return
        if isinstance(event, MegolmEvent):
            await self._say(room.room_id, "matrix.undecryptable" if self.e2e
                            else "matrix.encryption_off", lang)
            return
        if not isinstance(event, RoomMessageText | RoomMessageEmote):
            await self._say(room.room_id, "matrix.not_text", lang)
            return
        await self._converse(room.room_id, _strip_reply_fallback(event), sender=event.sender,
                             event_id=event.event_id)

    async def _leave(self, client: AsyncClient, room_id: str) -> None:
        """The citizen left: leave too, so the room can be cleaned up by the server."""
        await client.room_leave(room_id)
        await client.room_forget(room_id)
        self.options.pop(room_id, None)
        await self.ctx.set_state(NAME, _options_key(room_id), {})

    # -- conversation -------------------------------------------------------------------------
    async def _options(self, room_id: str) -> RoomOptions:
        if room_id not in self.options:
            saved = await self.ctx.get_state(NAME, _options_key(room_id)) or {}
            self.options[room_id] = RoomOptions(
                payloads=list(saved.get("payloads", [])), titles=list(saved.get("titles", [])),
                lang=saved.get("lang", self.ctx.config.default_language),
                hinted=bool(saved.get("hinted")))
        return self.options[room_id]

    async def _converse(self, room_id: str, text: str, *, sender: str | None,
                        event_id: str | None) -> None:
        assert self.client is not None
        client = self.client
        options = await self._options(room_id)

        async def acknowledge() -> None:  # read receipt and "typing …" while the answer is made
            if event_id:
                await _quietly(client.room_read_markers(room_id, event_id, event_id))
            await _quietly(client.room_typing(room_id, True, timeout=30_000))

        ack = asyncio.create_task(acknowledge())
        try:
            replies = await self.ctx.dialogue.handle(Incoming(
                channel=NAME, sender=room_id, text=options.resolve(text),
                metadata={"matrix_user": sender, "event_id": event_id} if sender else {}))
            await ack
            await self.send_replies(room_id, replies)
        finally:
            ack.cancel()
            await _quietly(client.room_typing(room_id, False))

    async def send_replies(self, room_id: str, replies: list[Reply]) -> bool:
        """Send replies as numbered-option messages; remember the options. True if all sent."""
        if not replies:
            return True
        options = await self._options(room_id)
        new = RoomOptions(lang=replies[-1].language or options.lang, hinted=options.hinted)
        ok = True
        for reply in replies:
            hint = None
            if reply.buttons and not new.hinted:
                hint, new.hinted = t("matrix.options_hint", reply.language), True
            ok = await self._send(room_id, render(reply, new, hint)) and ok
        self.options[room_id] = new
        await self.ctx.set_state(NAME, _options_key(room_id), new.as_state())
        return ok

    async def _say(self, room_id: str, key: str, lang: str) -> None:
        text = t(key, lang)
        await self._send(room_id, {"msgtype": "m.text", "body": text,
                                   "format": "org.matrix.custom.html",
                                   "formatted_body": to_html(text)})

    async def _send(self, room_id: str, content: dict[str, Any]) -> bool:
        """One message; waits out a 429 a few times (nio is told never to retry itself)."""
        assert self.client is not None
        for _ in range(SEND_ATTEMPTS):
            try:
                resp = await self.client.room_send(room_id, "m.room.message", content,
                                                   ignore_unverified_devices=True)
            except (LocalProtocolError, SendRetryError) as exc:
                log.warning("Matrix: cannot send to %s: %s", room_id, exc)
                return False
            if isinstance(resp, RoomSendResponse):
                return True
            if resp.status_code != "M_LIMIT_EXCEEDED":
                log.warning("Matrix: sending to %s failed: %s %s", room_id, resp.status_code,
                            resp.message)
                return False
            await asyncio.sleep(min((resp.retry_after_ms or 1000) / 1000, 10))
        return False

    # -- hooks' work --------------------------------------------------------------------------
    async def deliver(self, room_id: str, replies: list[Reply]) -> bool:
        """A reminder or confirmation outside a conversation turn."""
        try:
            await asyncio.wait_for(self.ready.wait(), timeout=30)
        except TimeoutError:
            raise ConnectionError("Matrix channel not connected yet; retry later") from None
        assert self.client is not None
        if room_id not in self.client.rooms:
            log.warning("Matrix: cannot deliver to %s: the bot is not in that room", room_id)
            return False
        return await self.send_replies(room_id, replies)

    def staff_room_for(self, office_id: str) -> str | None:
        return self.s.staff_rooms.get(office_id) or self.s.staff_room

    def staff_notice(self, office: Office, kind: str, text: str) -> None:
        """Post to the office's staff room; notices for several offices sharing one room
        (a request for "any office") are posted once, naming them all."""
        ref = self.staff_room_for(office.id)
        if not ref:
            return
        key = (ref, kind, text)
        name = office.name.get("de")
        if key in self.pending_notices:
            self.pending_notices[key].append(name)
            return
        self.pending_notices[key] = [name]
        self.spawn(self._post_notice(key))

    async def _post_notice(self, key: tuple[str, str, str]) -> None:
        await asyncio.sleep(NOTICE_COALESCE_SECONDS)
        ref, _, text = key
        offices = self.pending_notices.pop(key, [])
        try:
            await asyncio.wait_for(self.ready.wait(), timeout=30)
        except TimeoutError:
            log.error("Matrix: staff notice not posted (not connected): %s", text)
            return
        body = t("matrix.staff_notice", "de", offices=", ".join(offices), text=text)
        room_id = self.staff_ids.get(ref, ref)
        content = {"msgtype": "m.notice", "body": body, "format": "org.matrix.custom.html",
                   "formatted_body": to_html(body)}
        if not await self._send(room_id, content):
            log.error("Matrix: staff notice to %s failed", ref)


async def _quietly(coro: Coroutine[Any, Any, Any]) -> None:
    """Typing indicators and read markers are nice to have; never let them break a turn."""
    try:
        await coro
    except (aiohttp.ClientError, TimeoutError, LocalProtocolError) as exc:
        log.debug("Matrix: %s", exc)


# -- hooks ------------------------------------------------------------------------------------

class Matrix(Plugin):
    """The Matrix channel of one running app: its bot, started with the app."""

    settings_model = MatrixSettings
    settings: MatrixSettings

    def __init__(self, name: str, settings: MatrixSettings) -> None:
        super().__init__(name, settings)
        self.bot: MatrixBot | None = None

    @hookimpl
    def startup(self, ctx: Context) -> None:
        if self.bot is not None:
            return
        self.bot = MatrixBot(ctx, self.settings)
        self.bot.start()

    @hookimpl
    def shutdown(self, ctx: Context) -> Awaitable[None] | None:
        bot, self.bot = self.bot, None
        return bot.stop() if bot else None

    @hookimpl
    def deliver(self, ctx: Context, channel: str, recipient: str,
                replies: list[Reply]) -> Awaitable[bool] | None:
        if channel != NAME:
            return None
        bot = self.bot

        async def send() -> bool:
            return await bot.deliver(recipient, replies) if bot else False

        return send()

    @hookimpl
    def staff_notice(self, ctx: Context, office: Office, kind: str, text: str) -> None:
        if self.bot is not None:
            self.bot.staff_notice(office, kind, text)

    @hookimpl
    def message_catalogs(self) -> list[Path]:
        return sorted(Path(__file__).with_name("locales").glob("matrix.*.po"))
