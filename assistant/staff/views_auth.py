"""`/staff/login` and `/staff/logout`, and `authenticated`: the session check every other
back-office route starts with (a redirect to the login page without a valid session, 403
for a POST whose CSRF token is missing or wrong)."""

from __future__ import annotations

import logging
import math
from urllib.parse import quote, urlsplit

from aiohttp import web

from assistant.http.common import CTX, client_address
from assistant.staff import accounts, csrf, pages, sessions, throttle
from assistant.staff.sessions import Current

log = logging.getLogger(__name__)
LOGIN_COOKIE = "amtsbote_staff_login"  # the login form's CSRF token (double submit)
MAX_FIELD = 1024


def _next(value: str | None) -> str:
    """Where to go after the login: a back-office path of this site, never elsewhere."""
    if not value or not value.startswith("/staff/") or value.startswith("/staff//"):
        return "/staff/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or "\\" in value:
        return "/staff/"
    return value


def to_login(request: web.Request, expired: bool = False) -> web.Response:
    target = request.path_qs if request.method == "GET" else "/staff/"
    query = f"?next={quote(target, safe='/')}" + ("&expired=1" if expired else "")
    response = pages.redirect(f"/staff/login{query}")
    sessions.clear_cookie(response)
    return response


async def authenticated(request: web.Request, *, post: bool = False) -> Current:
    """The logged-in user (raises a redirect to the login page when there is none). For a
    POST the form's CSRF token is checked too (raises the 403 page)."""
    ctx = request.app[CTX]
    had_cookie = bool(request.cookies.get(sessions.COOKIE))
    async with ctx.db() as db:
        found = await sessions.current(db, request, ctx.config.server, ctx.now())
        await db.commit()
    if found is None:
        raise pages.Respond(to_login(request, expired=had_cookie))
    if post:
        form = await request.post()
        if not csrf.valid(found.session.csrf_token, form.get(csrf.FIELD)):
            raise pages.Respond(pages.message(request, 403, "csrf", user=found.user,
                                              csrf_token=found.session.csrf_token))
    return found


@pages.handler
async def login_form(request: web.Request) -> web.Response:
    return await login_page(request)


async def login_page(request: web.Request, error: str | None = None,
                     status: int = 200, username: str = "") -> web.Response:
    ctx = request.app[CTX]
    if error is None:
        async with ctx.db() as db:
            found = await sessions.current(db, request, ctx.config.server, ctx.now())
            await db.commit()
        if found is not None:
            return pages.redirect(_next(request.query.get("next")))
    token = csrf.new_token()
    notice = "expired" if request.query.get("expired") else None
    response = pages.render(request, "login.html", {
        "user": None, "csrf_token": token, "error": error, "notice": notice,
        "username": username, "next": _next(request.query.get("next"))}, status=status)
    response.set_cookie(LOGIN_COOKIE, token, path=sessions.PATH, httponly=True,
                        samesite="Strict", max_age=3600,
                        secure=sessions.secure_cookies(request, ctx.config.server))
    return response


@pages.handler
async def login(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    server = ctx.config.server
    form = await request.post()
    if not csrf.valid(request.cookies.get(LOGIN_COOKIE), form.get(csrf.FIELD)):
        return pages.message(request, 403, "csrf", back="/staff/login")
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or (
            not password) or len(username) > MAX_FIELD or len(password) > MAX_FIELD:
        return await login_page(request, "missing", 400,
                                username if isinstance(username, str) else "")
    address = client_address(request, server.trusted_proxies)
    now = ctx.now()
    async with ctx.db() as db:
        wait = await throttle.wait_seconds(db, server, username, address, now)
        if wait > 0:
            log.warning("staff login refused: too many failed logins (throttled)")
            return pages.message(request, 429, "too_many", back="/staff/login",
                                 minutes=max(1, math.ceil(wait / 60)),
                                 retry_after=max(1, math.ceil(wait)))
        user = await accounts.verify(db, username, password)
        if user is None:
            await throttle.failed(db, username, address, now)
            await db.commit()
            log.info("staff login failed")
            return await login_page(request, "wrong", 401, username)
        await throttle.succeeded(db, username)
        session_id = await sessions.login(db, user, request.cookies.get(sessions.COOKIE), now)
        await db.commit()
        log.info("staff user %d logged in", user.id)
    target = form.get("next")
    response = pages.redirect(_next(target if isinstance(target, str) else None))
    sessions.set_cookie(response, session_id, sessions.secure_cookies(request, server))
    response.del_cookie(LOGIN_COOKIE, path=sessions.PATH)
    return response


@pages.handler
async def logout(request: web.Request) -> web.Response:
    ctx = request.app[CTX]
    await authenticated(request, post=True)
    async with ctx.db() as db:
        await sessions.logout(db, request)
        await db.commit()
    response = pages.redirect("/staff/login")
    sessions.clear_cookie(response)
    return response
