"""A real Synapse homeserver for the Matrix tests, started once per test session.

Synapse runs from its own virtual environment (`.venv-synapse`, made by
scripts/setup-synapse.sh, which this fixture runs when the environment is missing). The
generated config keeps one plain-HTTP listener on 127.0.0.1 (client API and admin API only),
SQLite, no federation key servers, no stats reporting, and raises every rate limit so tests
never see M_LIMIT_EXCEEDED. Users are registered through the admin API with the shared secret.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
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


def synapse_python() -> Path:
    venv = Path(os.environ.get("SYNAPSE_VENV", ROOT / ".venv-synapse"))
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([str(ROOT / "scripts" / "setup-synapse.sh")], check=True)
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


async def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
                raise RuntimeError(f"Synapse exited with {proc.returncode}:\n{tail}")
            try:
                async with http.get(f"{url}/_matrix/client/versions") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"Synapse did not answer on {url} within {START_TIMEOUT:.0f} s")


@pytest.fixture(scope="session")
async def synapse() -> AsyncIterator[Synapse]:
    """A running Synapse on 127.0.0.1 (free port); stopped at the end of the session."""
    python = synapse_python()
    with tempfile.TemporaryDirectory(prefix="amtsbote-synapse-") as tmp:
        directory = Path(tmp)
        port = free_port()
        config, secret = write_config(python, directory, port)
        started = time.monotonic()
        proc = subprocess.Popen(
            [str(python), "-m", "synapse.app.homeserver", "--config-path", str(config)],
            cwd=directory, stdout=subprocess.DEVNULL,
            stderr=(directory / "stderr.log").open("wb"),
        )
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
