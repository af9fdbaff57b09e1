"""The aiohttp application: core routes, the staff API, and every channel's routes."""

from __future__ import annotations

import logging

from aiohttp import ClientError, ClientSession, ClientTimeout, web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError

from assistant import app as lifecycle
from assistant.context import Context
from assistant.http import api
from assistant.http.common import CTX, json_error
from assistant.staff import routes as staff_routes

log = logging.getLogger(__name__)
MAX_BODY = 64 * 1024
KEPT_HEADERS = ("Allow", "WWW-Authenticate", "Retry-After")


@web.middleware
async def errors(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """JSON errors for the API and webhooks; never a traceback to a client."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json" and (
                request.path.startswith(("/api/", "/webhooks/"))):
            response = json_error(exc.status, exc.reason)
            # 405 says which methods the resource has (RFC 9110: Allow is required).
            for name in KEPT_HEADERS:
                if name in exc.headers:
                    response.headers[name] = exc.headers[name]
            return response
        raise
    except (OperationalError, InterfaceError, OSError):
        log.exception("database unavailable on %s %s", request.method, request.path)
        response = json_error(503, "temporarily unavailable, please try again shortly")
        response.headers["Retry-After"] = "10"
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error")


@web.middleware
async def security_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    response = await handler(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    if response.content_type == "application/json":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


async def healthz(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    async with ctx.db() as session:
        await session.execute(text("SELECT 1"))
    return web.json_response({"status": "ok", "database": "ok",
                              "nlu": "ok" if await _rasa_up(ctx) else "down"})


async def _rasa_up(ctx: Context) -> bool:
    try:
        async with ClientSession(timeout=ClientTimeout(total=1)) as http, http.get(
                ctx.nlu.client.url) as resp:
            return resp.status == 200
    except (ClientError, TimeoutError):
        return False


async def metrics(_: web.Request) -> web.Response:
    return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(ctx: Context, manage_lifecycle: bool = True) -> web.Application:
    """The web app. With `manage_lifecycle` it starts plugins and the outbox on startup and
    stops everything on cleanup."""
    app = web.Application(middlewares=[errors, security_headers], client_max_size=MAX_BODY)
    app[CTX] = ctx
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    api.add_routes(app)
    staff_routes.add_routes(app)  # the back office, /staff/
    ctx.pm.hook.register_routes(app=app, ctx=ctx)
    if manage_lifecycle:

        async def on_startup(_: web.Application) -> None:
            await lifecycle.start(ctx)

        async def on_cleanup(_: web.Application) -> None:
            await lifecycle.stop(ctx)

        app.on_startup.append(on_startup)
        app.on_cleanup.append(on_cleanup)
    return app
