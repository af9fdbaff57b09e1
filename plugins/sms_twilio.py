"""SMS gateway `twilio` over Twilio's Messages REST API: the `send_sms` hook.

Uses twilio's own client with its asyncio HTTP client (`messages.create_async`), so nothing
blocks the event loop. Account SID, auth token and sender come from environment variables;
`api_base_url` points the client at another host (a test double or an egress proxy).
A failed send raises, so the outbox retries it later.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, field_validator
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from assistant.plugin import Plugin, hookimpl

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from assistant.plugin import Context

log = logging.getLogger(__name__)


class TwilioSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_sid_env: str = "TWILIO_ACCOUNT_SID"
    auth_token_env: str = "TWILIO_AUTH_TOKEN"
    # The sender: a Twilio number in E.164 ...
    from_number_env: str = "TWILIO_FROM_NUMBER"
    # ... or a Messaging Service SID (takes precedence when its variable is set).
    messaging_service_sid_env: str = "TWILIO_MESSAGING_SERVICE_SID"
    # Another API host than https://api.twilio.com (tests, proxies); empty: Twilio's.
    api_base_url: str | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("api_base_url")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value.rstrip("/") or None if value else None


class TwilioGateway:
    """One REST client for the process, created on startup, closed on shutdown."""

    def __init__(self, s: TwilioSettings) -> None:
        self.settings = s
        self.client: Client | None = None
        self.http: AsyncTwilioHttpClient | None = None

    def _env(self, name: str) -> str | None:
        return os.environ.get(name) or None

    def start(self) -> None:
        s = self.settings
        sid, token = self._env(s.account_sid_env), self._env(s.auth_token_env)
        if not sid or not token:
            log.error("%s and %s must be set to send SMS; SMS sending is off",
                      s.account_sid_env, s.auth_token_env)
            return
        self.http = AsyncTwilioHttpClient(timeout=s.timeout_seconds)
        self.client = Client(sid, token, http_client=self.http)
        if s.api_base_url:
            self.client.api.base_url = s.api_base_url

    async def stop(self) -> None:
        if self.http is not None:
            await self.http.close()
        self.client = self.http = None

    async def send(self, to: str, body: str) -> str:
        if self.client is None:
            raise RuntimeError("Twilio SMS gateway is not configured (see the log at start-up)")
        s = self.settings
        service = self._env(s.messaging_service_sid_env)
        sender = self._env(s.from_number_env)
        if service:
            message = await self.client.messages.create_async(
                to=to, body=body, messaging_service_sid=service)
        elif sender:
            message = await self.client.messages.create_async(to=to, body=body, from_=sender)
        else:
            raise RuntimeError(f"set {s.from_number_env} or {s.messaging_service_sid_env}")
        log.info("SMS %s queued (%s)", message.sid, message.status)
        return str(message.sid)


class Twilio(Plugin):
    """The `send_sms` gateway: one Twilio client per application."""

    settings_model = TwilioSettings
    settings: TwilioSettings

    def __init__(self, name: str, settings: TwilioSettings) -> None:
        super().__init__(name, settings)
        self.gateway: TwilioGateway | None = None

    def _gateway(self) -> TwilioGateway:
        if self.gateway is None:
            self.gateway = TwilioGateway(self.settings)
            self.gateway.start()
        return self.gateway

    @hookimpl
    def startup(self, ctx: Context) -> None:
        self._gateway()

    @hookimpl
    async def shutdown(self, ctx: Context) -> None:
        gateway, self.gateway = self.gateway, None
        if gateway is not None:
            await gateway.stop()

    @hookimpl
    def send_sms(self, ctx: Context, to: str, body: str) -> Awaitable[str]:
        return self._gateway().send(to, body)
