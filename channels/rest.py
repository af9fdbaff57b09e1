"""REST channel, compatible with Rasa's: `POST /webhooks/rest/webhook`.

Request `{"sender": "...", "message": "...", "metadata": {}}`, response
`[{"recipient_id": "...", "text": "...", "buttons": [{"title", "payload"}]}]`, so existing
Rasa chat widgets work unchanged. Optional `metadata.language` ("de"/"en") is a first guess.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from aiohttp import web

from assistant.plugin import Incoming, hookimpl, json_error

if TYPE_CHECKING:
    from assistant.plugin import Context

NAME = "rest"
MAX_SENDER = 255


@hookimpl
def register_routes(app: web.Application, ctx: Context) -> None:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def webhook(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return json_error(400, "invalid JSON")
        if not isinstance(body, dict):
            return json_error(400, "expected a JSON object with sender and message")
        sender, message = body.get("sender"), body.get("message")
        metadata = body.get("metadata") or {}
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER:
            return json_error(400, "sender must be a non-empty string (max 255 characters)")
        if not isinstance(message, str):
            return json_error(400, "message must be a string of text")
        if not isinstance(metadata, dict):
            return json_error(400, "metadata must be an object")
        language = metadata.get("language") if metadata.get("language") in ("de", "en") else None
        assert ctx.dialogue is not None
        replies = await ctx.dialogue.handle(
            Incoming(channel=NAME, sender=sender, text=message, metadata=metadata,
                     language=language)
        )
        return web.json_response([r.to_rest(sender) for r in replies])

    app.router.add_get("/webhooks/rest/", health)
    app.router.add_post("/webhooks/rest/webhook", webhook)
