"""A local stand-in for Twilio's Messages REST API (Twilio's cloud cannot run here).

It follows the documented request and response: `POST /2010-04-01/Accounts/{AccountSid}/
Messages.json`, HTTP basic auth with account SID and auth token, a form-encoded body with
`To`, `From` (or `MessagingServiceSid`) and `Body`; answers `201` with the message resource as
JSON (`sid` "SM…", `status` "queued", …) or Twilio's error object (`code`, `message`,
`more_info`, `status`): 20003 for wrong credentials, 21604 without `To`, 21602 without `Body`,
21610 for a recipient who replied STOP. `fail_next` makes the next request fail with 503, as
when Twilio is unreachable.

Fixture `twilio_api` (or `running(monkeypatch)`) starts it and sets TWILIO_ACCOUNT_SID,
TWILIO_AUTH_TOKEN, TWILIO_FROM_NUMBER and TWILIO_API_BASE_URL for the test. `post_signed`
plays Twilio's side of a webhook: a form-encoded POST with `X-Twilio-Signature` computed by
twilio's `RequestValidator` over the public URL, as Twilio signs it.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from xml.etree import ElementTree

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-" + "x" * 16
FROM_NUMBER = "+4935217250000"
MAX_BODY = 1600


@dataclass
class FakeTwilio:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    messages: list[dict[str, Any]] = field(default_factory=list)
    unsubscribed: set[str] = field(default_factory=set)
    fail_next: int = 0
    requests: int = 0
    url: str = ""

    def bodies(self, to: str | None = None) -> list[str]:
        return [m["body"] for m in self.messages if to is None or m["to"] == to]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/2010-04-01/Accounts/{account}/Messages.json", self.create)
        return app

    def _error(self, status: int, code: int, message: str) -> web.Response:
        return web.json_response({
            "code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
        }, status=status)

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        return (user, password) == (self.account_sid, self.auth_token) and (
            request.match_info["account"] == self.account_sid)

    async def create(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.fail_next > 0:
            self.fail_next -= 1
            return self._error(503, 20500, "Service unavailable")
        if not self._authorized(request):
            return self._error(401, 20003, "Authenticate")
        if request.content_type != "application/x-www-form-urlencoded":
            return self._error(400, 20001, "Form-encoded body expected")
        form = await request.post()
        to, sender, body = form.get("To"), form.get("From"), form.get("Body")
        service = form.get("MessagingServiceSid")
        if not to:
            return self._error(400, 21604, "A 'To' phone number is required.")
        if not sender and not service:
            return self._error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        if len(str(body)) > MAX_BODY:
            return self._error(400, 21617, "The concatenated message body exceeds the 1600 "
                                           "character limit.")
        if to in self.unsubscribed:
            return self._error(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = "SM" + secrets.token_hex(16)
        now = formatdate(usegmt=True)
        message = {
            "sid": sid, "account_sid": self.account_sid, "to": str(to),
            "from": str(sender) if sender else None, "messaging_service_sid": service,
            "body": str(body), "status": "queued", "direction": "outbound-api",
            "num_segments": "1", "num_media": "0", "price": None, "price_unit": "USD",
            "error_code": None, "error_message": None, "api_version": "2010-04-01",
            "date_created": now, "date_updated": now, "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json",
            "subresource_uris": {
                "media": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}/Media.json"},
        }
        self.messages.append(message)
        return web.json_response(message, status=201)


@asynccontextmanager
async def running(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTwilio]:
    """Start the fake and point Amtsbote's Twilio settings (environment) at it."""
    fake = FakeTwilio()
    server = TestServer(fake.app(), host="127.0.0.1")
    await server.start_server()
    fake.url = str(server.make_url("")).rstrip("/")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", fake.account_sid)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", fake.auth_token)
    monkeypatch.setenv("TWILIO_FROM_NUMBER", FROM_NUMBER)
    monkeypatch.setenv("TWILIO_API_BASE_URL", fake.url)
    try:
        yield fake
    finally:
        await server.close()


@pytest_asyncio.fixture
async def twilio_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeTwilio]:
    async with running(monkeypatch) as fake:
        yield fake


# -- Twilio's side of the webhooks --------------------------------------------------------------

PUBLIC_URL = "https://amtsbote.example.org"  # server.public_url of tests/configs/twilio.yml


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """`X-Twilio-Signature` exactly as Twilio computes it (HMAC-SHA1 of URL + sorted params)."""
    return RequestValidator(token).compute_signature(url, params)


async def post_signed(client: TestClient, path_qs: str, params: dict[str, str],
                      token: str = AUTH_TOKEN, signed_url: str | None = None,
                      ) -> tuple[int, str]:
    """POST a form-encoded webhook as Twilio does; (status, body)."""
    signature = sign(signed_url or PUBLIC_URL + path_qs, params, token)
    response = await client.post(path_qs, data=params,
                                 headers={"X-Twilio-Signature": signature})
    return response.status, await response.text()


def twiml(body: str) -> ElementTree.Element:
    root = ElementTree.fromstring(body)
    assert root.tag == "Response", body
    return root
