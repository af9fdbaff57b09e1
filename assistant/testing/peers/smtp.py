"""A real SMTP server for tests: aiosmtpd on a free loopback port, keeping every message.

- `smtp_server`: plain SMTP; login is optional and allowed without TLS
  (`auth_require_tls=False`), because the point there is the message, not the transport.
- `smtp_tls_server`: STARTTLS required before MAIL and AUTH, login required, with a self-signed
  certificate for 127.0.0.1 made by the `openssl` command (skipped with a reason without it);
  `peer.cafile` is what the client must trust.

The server runs in aiosmtpd's own thread and event loop, as a real mail relay would run in its
own process; `peer.stop()` / `peer.start()` simulate the relay going down and coming back.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from assistant.testing.net import free_port

USER = "amtsbote"
PASSWORD = "s3cret-Pässwort"  # non-ASCII on purpose


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    raw: bytes
    login: str | None
    tls: bool


@dataclass
class SMTPPeer:
    """An SMTP server that keeps what it receives; addresses in `refuse` are answered with 550
    (for good), those in `defer` with 450 (try later)."""

    host: str = "127.0.0.1"
    port: int = field(default_factory=free_port)
    users: dict[str, str] = field(default_factory=dict)
    tls_context: ssl.SSLContext | None = None
    cafile: str | None = None
    refuse: set[str] = field(default_factory=set)
    defer: set[str] = field(default_factory=set)
    messages: list[Received] = field(default_factory=list)
    _controller: Controller | None = None

    # -- aiosmtpd handler ------------------------------------------------------------------------
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address.casefold() in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if address.casefold() in self.defer:
            return f"450 4.2.1 <{address}> mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        login = session.auth_data if session.authenticated else None
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, raw,
                                      login, session.ssl is not None))
        return "250 Message accepted for delivery"

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        ok = self.users.get(user) == password
        return AuthResult(success=ok, handled=False, auth_data=user if ok else None)

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.users:
            tls = self.tls_context is not None
            kwargs.update(authenticator=self._authenticate, auth_required=tls,
                          auth_require_tls=tls)
        if self.tls_context is not None:
            kwargs.update(tls_context=self.tls_context, require_starttls=True)
        self._controller = Controller(self, hostname=self.host, port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def env(self, monkeypatch: pytest.MonkeyPatch, *, login: bool = False,
            password: str = PASSWORD) -> None:
        """Point a config at this server: tests/configs/email.yml reads these variables
        (`${AMTSBOTE_TEST_SMTP_PORT}`, ...)."""
        monkeypatch.setenv("AMTSBOTE_TEST_SMTP_PORT", str(self.port))
        monkeypatch.setenv("AMTSBOTE_TEST_SMTP_STARTTLS",
                           "true" if self.tls_context is not None else "false")
        monkeypatch.setenv("AMTSBOTE_TEST_SMTP_CA", self.cafile or "")
        for name in ("USER", "PASSWORD"):
            if login:
                monkeypatch.setenv(f"AMTSBOTE_TEST_SMTP_{name}_ENV", f"AMTSBOTE_TEST_SMTP_{name}")
            else:
                monkeypatch.delenv(f"AMTSBOTE_TEST_SMTP_{name}_ENV", raising=False)
        if login:
            monkeypatch.setenv("AMTSBOTE_TEST_SMTP_USER", USER)
            monkeypatch.setenv("AMTSBOTE_TEST_SMTP_PASSWORD", password)

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.messages if address in r.rcpt_tos]


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, made by the openssl command."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )
    return cert, key


@pytest.fixture
def smtp_server() -> Iterator[SMTPPeer]:
    peer = SMTPPeer(users={USER: PASSWORD})
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def smtp_tls_server() -> Iterator[SMTPPeer]:
    if shutil.which("openssl") is None:
        pytest.skip("STARTTLS test needs the openssl command for a self-signed certificate "
                    "(apt-get install openssl)")
    with tempfile.TemporaryDirectory(prefix="amtsbote-smtp-") as tmp:
        cert, key = self_signed(Path(tmp))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        peer = SMTPPeer(users={USER: PASSWORD}, tls_context=context, cafile=str(cert))
        peer.start()
        try:
            yield peer
        finally:
            peer.stop()
