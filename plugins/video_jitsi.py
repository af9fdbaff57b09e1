"""Jitsi Meet video provider `jitsi`: unguessable room names, optional JWT (Jitsi's tokens)."""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import jwt
from pydantic import BaseModel, ConfigDict

from assistant.plugin import Meeting, Plugin, hookimpl

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from assistant.plugin import Context


class JitsiSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    base_url: str = "https://meet.jit.si"
    # For a Jitsi with token authentication (prosody `token` auth): app id and the name of the
    # environment variable holding the shared secret. Tokens last `token_hours`.
    app_id: str | None = None
    secret_env: str = "JITSI_APP_SECRET"
    token_hours: int = 4
    room_prefix: str = "amtsbote"


def _token(s: JitsiSettings, room: str, moderator: bool, name: str, now: datetime) -> str:
    secret = os.environ.get(s.secret_env)
    if not secret:
        raise LookupError(f"{s.secret_env} is not set but jitsi.app_id is configured")
    domain = s.base_url.split("://", 1)[-1].split("/", 1)[0]
    claims = {
        "aud": "jitsi",
        "iss": s.app_id,
        "sub": domain,
        "room": room,
        "nbf": int((now - timedelta(minutes=5)).timestamp()),
        "exp": int((now + timedelta(hours=s.token_hours)).timestamp()),
        "context": {"user": {"name": name, "moderator": moderator}},
        "moderator": moderator,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


class Jitsi(Plugin):
    """Creates meetings when `video.provider` names this plugin."""

    settings_model = JitsiSettings
    settings: JitsiSettings

    @hookimpl
    def video_create_meeting(self, ctx: Context, provider: str, topic: str,
                             start: datetime | None) -> Awaitable[Meeting] | None:
        if provider != self.name:
            return None
        s = self.settings

        async def create() -> Meeting:
            room = f"{s.room_prefix}-{secrets.token_urlsafe(18).replace('_', '').replace('-', '')}"
            url = f"{s.base_url.rstrip('/')}/{room}"
            if s.app_id:
                now = start or ctx.now()
                return Meeting(
                    citizen_url=f"{url}?jwt={_token(s, room, False, 'Bürger/in', now)}",
                    staff_url=f"{url}?jwt={_token(s, room, True, 'Mitarbeiter/in', now)}",
                    room=room,
                )
            return Meeting(citizen_url=url, staff_url=url, room=room)

        return create()
