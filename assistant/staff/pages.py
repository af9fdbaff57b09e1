"""Rendering the back office's pages: Jinja templates (`templates/`, autoescaped), their texts
from the catalogs (`assistant/locales/staff.{de,en}.po`, German first), the language, polite
error pages, the style sheet and the headers every staff page carries."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from assistant.i18n import LANGUAGES, clock, day, t

TEMPLATES = Path(__file__).with_name("templates")
JINJA = web.AppKey("staff_jinja", jinja2.Environment)
# The templates read their texts by key through `tr`; every key starts with this prefix.
TEXT_PREFIX = "staff."
LANG_COOKIE = "amtsbote_staff_lang"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


def setup(app: web.Application) -> None:
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(TEMPLATES), app_key=JINJA,
                         autoescape=True, undefined=jinja2.StrictUndefined)


def language(request: web.Request) -> str:
    """`?lang=` (kept in a cookie), the cookie, then the browser's preference; German else."""
    for value in (request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value in LANGUAGES:
            return str(value)
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip()[:2].lower()
        if code in LANGUAGES:
            return code
    return "de"


def render(request: web.Request, template: str, values: dict[str, Any],
           status: int = 200) -> web.Response:
    lang = language(request)

    def tr(key: str, **params: object) -> str:
        if not key.startswith(TEXT_PREFIX):
            raise KeyError(f"{key}: the back office's texts start with {TEXT_PREFIX!r}")
        return t(key, lang, **params)

    response = aiohttp_jinja2.render_template(
        template, request, {"lang": lang, "tr": tr, "path": request.path,
                            "fmt_day": lambda d: day(d, lang),
                            "fmt_time": lambda dt: clock(dt, lang), **values},
        app_key=JINJA, status=status)
    if request.query.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, str(request.query["lang"]), path="/staff",
                            max_age=365 * 24 * 3600, httponly=True, samesite="Strict")
    response.headers.update(HEADERS)
    return response


def message(request: web.Request, status: int, kind: str, **values: Any) -> web.Response:
    """A polite page for `kind` (bad_request, forbidden, not_found, conflict, too_many,
    csrf): a heading, a sentence and a way back."""
    response = render(request, "message.html", {
        "kind": kind, "user": values.pop("user", None), "back": values.pop("back", "/staff/"),
        "offices": values.pop("offices", []), "csrf_token": values.pop("csrf_token", ""),
        **values}, status=status)
    if "retry_after" in values:
        response.headers["Retry-After"] = str(values["retry_after"])
    return response


async def stylesheet(_: web.Request) -> web.Response:
    return web.Response(body=(TEMPLATES / "staff.css").read_bytes(), content_type="text/css",
                        headers={"Cache-Control": "max-age=3600"})


class Respond(Exception):
    """Raised with a finished response (a redirect to the login page, the 403 page) from deep
    inside a handler; `handler` returns it."""

    def __init__(self, response: web.StreamResponse) -> None:
        super().__init__(response.status)
        self.response = response


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def handler(fn: Handler) -> Handler:
    @functools.wraps(fn)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await fn(request)
        except Respond as answer:
            return answer.response

    return wrapped


def redirect(location: str) -> web.Response:
    """303 See Other: after a POST the browser GETs `location`."""
    response = web.Response(status=303, headers={"Location": location, **HEADERS})
    return response
