"""A real Synapse homeserver for the Matrix tests, started once per test session.

Synapse runs from its own virtual environment (`.venv-synapse`, made by
scripts/setup-synapse.sh, which this fixture runs when the environment is missing). The
generated config keeps one plain-HTTP listener on 127.0.0.1 (client API and admin API only),
SQLite, no federation key servers, no stats reporting, and raises every rate limit so tests
never see M_LIMIT_EXCEEDED. Users are registered through the admin API with the shared secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest_asyncio
import yaml
from nio import (
    AsyncClient,
    AsyncClientConfig,
    RoomCreateResponse,
    RoomMessage,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
    TypingNoticeEvent,
)
from nio.api import RoomPreset

from assistant.testing.harness import ROOT
from assistant.testing.net import free_port

SERVER_NAME = "amtsbote.test"
UNLIMITED = {"per_second": 1000, "burst_count": 1000}
RATE_LIMITS = {
    "rc_message": UNLIMITED,
    "rc_registration": UNLIMITED,
    "rc_registration_token_validity": UNLIMITED,
    "rc_login": {"address": UNLIMITED, "account": UNLIMITED, "failed_attempts": UNLIMITED},
    "rc_admin_redaction": UNLIMITED,
    "rc_joins": {"local": UNLIMITED, "remote": UNLIMITED},
    "rc_joins_per_room": UNLIMITED,
    "rc_key_requests": UNLIMITED,
    "rc_3pid_validation": UNLIMITED,
    "rc_invites": {"per_room": UNLIMITED, "per_user": UNLIMITED, "per_issuer": UNLIMITED},
    "rc_third_party_invite": UNLIMITED,
    "rc_media_create": UNLIMITED,
    "rc_presence": {"per_user": UNLIMITED},
    "rc_delayed_event_mgmt": UNLIMITED,
    "rc_room_creation": UNLIMITED,
    "rc_reports": UNLIMITED,
    "rc_user_directory": UNLIMITED,
    "rc_profile": UNLIMITED,
}
START_TIMEOUT = 90.0


@dataclass(frozen=True)
class MatrixUser:
    user_id: str
    password: str
    access_token: str
    device_id: str


@dataclass
class Synapse:
    url: str
    server_name: str
    shared_secret: str
    directory: Path

    async def register(self, localpart: str | None = None, *, admin: bool = False) -> MatrixUser:
        """A new user (unique localpart unless given) through the shared-secret admin API."""
        localpart = localpart or f"user{secrets.token_hex(4)}"
        password = secrets.token_urlsafe(16)
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as http:
            async with http.get(endpoint) as resp:
                resp.raise_for_status()
                nonce = (await resp.json())["nonce"]
            message = "\x00".join([nonce, localpart, password, "admin" if admin else "notadmin"])
            mac = hmac.new(self.shared_secret.encode(), message.encode(), hashlib.sha1)
            body = {"nonce": nonce, "username": localpart, "password": password,
                    "admin": admin, "mac": mac.hexdigest()}
            async with http.post(endpoint, json=body) as resp:
                data = await resp.json()
                if resp.status != 200:
                    raise RuntimeError(f"registering {localpart} failed: {data}")
        return MatrixUser(data["user_id"], password, data["access_token"], data["device_id"])

    @property
    def log(self) -> str:
        path = self.directory / "homeserver.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@dataclass(frozen=True)
class Message:
    """A message as a Matrix client shows it."""

    sender: str
    msgtype: str
    body: str
    formatted_body: str | None
    event_id: str
    encrypted: bool


class ChatClient:
    """A person's Matrix client with its own device, acting as Element would (nio).

    `receive()` collects one turn of the bot's answers: it waits for the bot's messages and
    for the bot's typing indicator to go off (the bot types while it works on a message).
    """

    def __init__(self, synapse: Synapse, user: MatrixUser, *, encryption: bool = False,
                 store_dir: Path | None = None) -> None:
        self.user = user
        config = AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0,
                                   encryption_enabled=encryption, store_sync_tokens=False)
        self.client = AsyncClient(synapse.url, user.user_id, device_id=user.device_id,
                                  store_path=str(store_dir) if store_dir else "", config=config)
        self.client.restore_login(user.user_id, user.device_id, user.access_token)
        self.since: str | None = None

    async def __aenter__(self) -> ChatClient:
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self._sync(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close()

    async def _sync(self, timeout_ms: int) -> SyncResponse:
        resp = await self.client.sync(timeout=timeout_ms, since=self.since,
                                      full_state=self.since is None)
        assert isinstance(resp, SyncResponse), resp
        self.since = resp.next_batch
        c = self.client
        if c.olm is not None:
            await c.send_to_device_messages()
            if c.should_upload_keys:
                await c.keys_upload()
            if c.should_query_keys:
                await c.keys_query()
            if c.should_claim_keys:
                await c.keys_claim(c.get_users_for_key_claiming())
        return resp

    async def open_chat(self, *invite: str, encrypted: bool = False,
                        name: str | None = None) -> str:
        """A direct chat with `invite` (what "Start chat" in Element does), or with `name`
        a named room for everyone invited."""
        state = [{"type": "m.room.encryption", "state_key": "",
                  "content": {"algorithm": "m.megolm.v1.aes-sha2"}}] if encrypted else []
        resp = await self.client.room_create(
            is_direct=not name, name=name, invite=list(invite), initial_state=state,
            preset=RoomPreset.trusted_private_chat if not name else RoomPreset.private_chat)
        assert isinstance(resp, RoomCreateResponse), resp
        await self._sync(0)
        return resp.room_id

    async def invite(self, room_id: str, user_id: str) -> None:
        await self.client.room_invite(room_id, user_id)

    async def join(self, room_id: str) -> None:
        await self.client.join(room_id)
        await self._sync(0)

    async def send(self, room_id: str, text: str | None = None, *,
                   content: dict[str, Any] | None = None) -> str:
        content = content or {"msgtype": "m.text", "body": text}
        resp = await self.client.room_send(room_id, "m.room.message", content,
                                           ignore_unverified_devices=True)
        assert isinstance(resp, RoomSendResponse), resp
        return resp.event_id

    async def receive(self, room_id: str, sender: str, *, within: float = 60.0,
                      count: int | None = None, quiet: float = 2.0) -> list[Message]:
        """The next messages from `sender`: until its typing indicator is off (or `count`
        messages arrived, or nothing more came for `quiet` seconds once something came)."""
        got: list[Message] = []
        typing_seen = typing_now = False
        deadline = time.monotonic() + within
        last_new = time.monotonic()
        while time.monotonic() < deadline:
            wait = 1000 if got else 5000
            resp = await self._sync(wait)
            info = resp.rooms.join.get(room_id)
            new = [self._message(e) for e in (info.timeline.events if info else [])
                   if isinstance(e, RoomMessage) and e.sender == sender]
            for e in info.ephemeral if info else []:
                if isinstance(e, TypingNoticeEvent):
                    typing_seen, typing_now = True, sender in e.users
            if new:
                got += new
                last_new = time.monotonic()
            if got and count is not None and len(got) >= count:
                return got
            if got and count is None and typing_seen and not typing_now:
                return got
            if got and time.monotonic() - last_new > quiet and not typing_now:
                return got
        if not got:
            raise TimeoutError(f"no message from {sender} in {room_id} within {within:.0f} s")
        return got

    async def silence(self, room_id: str, sender: str, seconds: float) -> list[Message]:
        """Whatever `sender` posts in the next `seconds` (expected: nothing)."""
        got: list[Message] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            resp = await self._sync(int(left * 1000))
            info = resp.rooms.join.get(room_id)
            got += [self._message(e) for e in (info.timeline.events if info else [])
                    if isinstance(e, RoomMessage) and e.sender == sender]
        return got

    @staticmethod
    def _message(e: RoomMessage) -> Message:
        content = e.source.get("content", {})
        return Message(sender=e.sender, msgtype=content.get("msgtype", ""),
                       body=e.body if isinstance(e, RoomMessageText) else content.get("body", ""),
                       formatted_body=content.get("formatted_body"), event_id=e.event_id,
                       encrypted=e.decrypted)


def synapse_python() -> Path:
    venv = Path(os.environ.get("SYNAPSE_VENV", ROOT / ".venv-synapse"))
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([str(ROOT / "scripts" / "setup-synapse.sh")], check=True)
    return python


def write_config(python: Path, directory: Path, port: int) -> tuple[Path, str]:
    """Generate Synapse's config (signing key, secrets) and trim it to what the tests need."""
    path = directory / "homeserver.yaml"
    subprocess.run(
        [str(python), "-m", "synapse.app.homeserver", "--server-name", SERVER_NAME,
         "--config-path", str(path), "--data-directory", str(directory),
         "--generate-config", "--report-stats=no"],
        check=True, cwd=directory, capture_output=True,
    )
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    secret = secrets.token_hex(24)
    config.update(
        listeners=[{"port": port, "bind_addresses": ["127.0.0.1"], "type": "http", "tls": False,
                    "x_forwarded": False, "resources": [{"names": ["client"],
                                                         "compress": False}]}],
        database={"name": "sqlite3", "args": {"database": str(directory / "homeserver.db")}},
        registration_shared_secret=secret,
        enable_registration=False,
        trusted_key_servers=[],
        suppress_key_server_warning=True,
        report_stats=False,
        presence={"enabled": False},
        **RATE_LIMITS,
    )
    log_config = directory / "log.yaml"
    log_config.write_text(yaml.safe_dump({
        "version": 1,
        "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
        "handlers": {"file": {"class": "logging.FileHandler", "formatter": "plain",
                              "filename": str(directory / "homeserver.log")}},
        "root": {"level": "WARNING", "handlers": ["file"]},
        "disable_existing_loggers": False,
    }), encoding="utf-8")
    config["log_config"] = str(log_config)
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path, secret


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def launch(python: Path, config: Path, directory: Path) -> subprocess.Popen[bytes]:
    with (directory / "stderr.log").open("wb") as stderr:
        return subprocess.Popen(
            [str(python), "-m", "synapse.app.homeserver", "--config-path", str(config)],
            cwd=directory, stdout=subprocess.DEVNULL, stderr=stderr,
        )


async def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"Synapse exited with {proc.returncode}:\n{_tail(log)}")
            try:
                async with http.get(f"{url}/_matrix/client/versions") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"Synapse did not answer on {url} within {START_TIMEOUT:.0f} s")


@contextlib.asynccontextmanager
async def running_synapse() -> AsyncIterator[Synapse]:
    """Start Synapse on a free loopback port in a temporary directory; stop it afterwards."""
    python = synapse_python()
    with tempfile.TemporaryDirectory(prefix="amtsbote-synapse-") as tmp:
        directory = Path(tmp)
        port = free_port()
        config, secret = write_config(python, directory, port)
        started = time.monotonic()
        proc = launch(python, config, directory)
        url = f"http://127.0.0.1:{port}"
        try:
            await wait_ready(url, proc, directory / "stderr.log")
            print(f"\nSynapse ready on {url} after {time.monotonic() - started:.1f} s",
                  file=sys.stderr)
            yield Synapse(url=url, server_name=SERVER_NAME, shared_secret=secret,
                          directory=directory)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def synapse() -> AsyncIterator[Synapse]:
    """A running Synapse on 127.0.0.1 (free port), shared by the session's tests."""
    async with running_synapse() as server:
        yield server
