"""Shared bits of the HTTP layer: the app key for the context, JSON errors, staff auth."""

from __future__ import annotations

import hmac
import os

from aiohttp import web

from assistant.context import Context

CTX = web.AppKey("ctx", Context)
TOKEN_ENV = "AMTSBOTE_API_TOKEN"


def json_error(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def require_staff(request: web.Request) -> None:
    """Staff endpoints need `Authorization: Bearer $AMTSBOTE_API_TOKEN`."""
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise web.HTTPServiceUnavailable(
            text='{"error": "staff API disabled: set AMTSBOTE_API_TOKEN"}',
            content_type="application/json",
        )
    given = request.headers.get("Authorization", "")
    if not given.startswith("Bearer ") or not hmac.compare_digest(
        given.removeprefix("Bearer ").encode(), token.encode()
    ):
        raise web.HTTPUnauthorized(
            text='{"error": "staff token missing or wrong"}', content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )
