"""REST channel, compatible with Rasa's: `POST /webhooks/rest/webhook`.

Request `{"sender": "...", "message": "...", "metadata": {}}`, response
`[{"recipient_id": "...", "text": "...", "buttons": [{"title", "payload"}]}]`, so existing
Rasa chat widgets work unchanged. Optional `metadata.language` ("de"/"en") is a first guess.

Senders are chosen by the client, so the per-sender limit alone does not hold back a client
that changes its sender id: every request also counts against its IP address (behind
`server.trusted_proxies`) or kiosk terminal and against a global limit; over either it gets
429 with Retry-After. The address goes to the dialogue as `metadata.client_ip`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from assistant.plugin import (
    BadJSON,
    Incoming,
    client_gate,
    hookimpl,
    json_error,
    read_json,
    too_many_requests,
)

if TYPE_CHECKING:
    from assistant.plugin import Context

NAME = "rest"
MAX_SENDER = 255


@hookimpl
def register_routes(app: web.Application, ctx: Context) -> None:
    gate = client_gate(app, ctx)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def webhook(request: web.Request) -> web.Response:
        client = gate.client(request)
        wait = gate.take(client)
        if wait:
            return too_many_requests(wait)
        try:
            body = await read_json(request)
        except BadJSON:
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
        # The client's own claims about its address or terminal are replaced by what we saw.
        metadata = {k: v for k, v in metadata.items() if k not in ("client_ip", "terminal",
                                                                     "caller")}
        replies = await ctx.dialogue.handle(
            Incoming(channel=NAME, sender=sender, text=message,
                     metadata={**metadata, **client.metadata()}, language=language)
        )
        return web.json_response([r.to_rest(sender) for r in replies])

    app.router.add_get("/webhooks/rest/", health)
    app.router.add_post("/webhooks/rest/webhook", webhook)
