"""The personal appointment page, plugin `termin` (its name in config.yml, its URL path and
the prefix of its texts): `/termin/{token}` shows one appointment and lets the citizen cancel
it or pick another free slot, without chatting again. It answers the `appointment_link` hook,
so notifiers (the e-mail plugin) link to it without knowing it.

The link token is a JWT (HS256) naming the appointment's id and (as keyed hashes) its
reference and its version (time, office, status and last change), expiring at the
appointment's end. A move or cancellation changes the version, so every link issued before it
shows 410 "out of date" (the newest e-mail, or the page's own redirect, has the current one).
Its secret comes from the environment variable `secret_env` (AMTSBOTE_LINK_SECRET) or, when
that is unset, is generated once and kept in the database, so links survive restarts and work
across workers. A GET never changes anything (mail scanners follow links); a change is a POST
form with a CSRF token derived from the link.
Plain HTML and CSS, no JavaScript (`templates/termin.{html,css}`); German and English texts
from `locales/termin.{de,en}.po`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import html
import logging
import os
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import jwt
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from assistant.plugin import (
    LANGUAGES,
    AppointmentView,
    ConfigError,
    Plugin,
    appointments,
    availability,
    cancel,
    clock,
    day,
    hookimpl,
    reschedule,
    t,
    when,
)
from assistant.plugin import book as booking

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from assistant.plugin import Context, Office, Service

NAME = "termin"  # the entry point: config.yml `plugins.termin`, and the origin of its changes
AUDIENCE = "amtsbote:termin"
STATE_KEY = "link_secret"
MIN_SECRET = 32
MAX_TOKEN = 1024
TEMPLATES = Path(__file__).with_name("templates")
LAYOUT = Template((TEMPLATES / "termin.html").read_text(encoding="utf-8"))
CSS = (TEMPLATES / "termin.css").read_text(encoding="utf-8")
CSS_HASH = base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()
CSP = (f"default-src 'none'; style-src 'sha256-{CSS_HASH}'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")

log = logging.getLogger(__name__)


class AppointmentPageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Name of the environment variable with the link-signing secret (at least 32 characters).
    # Unset: a secret is generated on first start and kept in the database.
    secret_env: str = "AMTSBOTE_LINK_SECRET"
    # The "pick another time" page lists this many days of free slots per page ...
    days_per_page: int = Field(default=7, ge=1, le=31)
    # ... and at most this many slots.
    max_slots: int = Field(default=40, ge=1, le=200)


# -- link tokens ---------------------------------------------------------------------------------


def reference_claim(secret: bytes, reference: str) -> str:
    """Binds a token to the appointment's reference without showing it (a JWT is readable)."""
    return hmac.new(secret, f"ref|{reference}".encode(), hashlib.sha256).hexdigest()[:24]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version_claim(secret: bytes, appointment: AppointmentView) -> str:
    """The appointment's state as far as a link depends on it: every move and cancellation
    changes it (start, office or status, and `updated_at` to the microsecond, so moving away
    and back counts too)."""
    def micros(value: datetime) -> int:
        return (value - _EPOCH) // timedelta(microseconds=1)

    a = appointment
    state = f"ver|{a.id}|{a.status}|{a.office}|{micros(a.start)}|{micros(a.updated_at)}"
    return hmac.new(secret, state.encode(), hashlib.sha256).hexdigest()[:24]


def make_token(secret: bytes, appointment: AppointmentView) -> str:
    claims = {"sub": str(appointment.id), "ref": reference_claim(secret, appointment.reference),
              "ver": version_claim(secret, appointment),
              "aud": AUDIENCE, "exp": int(appointment.end.timestamp())}
    return jwt.encode(claims, secret, algorithm="HS256")


def _prefix(ctx: Context) -> str:
    """The path under which citizens reach us (public_url may carry one behind a proxy)."""
    return urlsplit(ctx.config.server.base_url).path.rstrip("/")


def csrf_token(secret: bytes, link_token: str) -> str:
    return hmac.new(secret, f"csrf|{link_token}".encode(), hashlib.sha256).hexdigest()


class PageError(Exception):
    def __init__(self, status: int, kind: str | None = None,
                 appointment: AppointmentView | None = None) -> None:
        super().__init__(status)
        self.status, self.kind, self.appointment = status, kind, appointment


async def resolve(ctx: Context, token: str, secret: bytes) -> AppointmentView:
    """The appointment a token names; PageError(404) for a forged or mangled token, 410 for an
    expired one, an appointment whose personal data has been deleted, or (kind "outdated") a
    link issued before the appointment was last moved or cancelled."""
    if len(token) > MAX_TOKEN:
        raise PageError(404)
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"],
                            audience=AUDIENCE,
                            options={"verify_exp": False, "require": ["exp", "sub", "ref"]})
        appointment_id = int(claims["sub"])
        expires = datetime.fromtimestamp(int(claims["exp"]), UTC)
    except (jwt.InvalidTokenError, ValueError, TypeError):
        raise PageError(404) from None
    if expires <= ctx.now():  # checked against the app's clock, not the wall clock
        raise PageError(410)
    a = await appointments.by_id(ctx, appointment_id)
    if a is None or not hmac.compare_digest(reference_claim(secret, a.reference).encode(),
                                            str(claims["ref"]).encode()):
        raise PageError(404)
    if a.anonymized:
        raise PageError(410)
    version = claims.get("ver")
    if version is None:
        # Links from before versions were signed: valid while the appointment is unchanged.
        current = a.updated_at == a.created_at
    else:
        current = hmac.compare_digest(version_claim(secret, a).encode(),
                                      str(version).encode())
    if not current:
        raise PageError(410, "outdated", a)
    return a


# -- rendering -----------------------------------------------------------------------------------


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


class Page:
    """One rendered page in one language, with helpers for the small pieces."""

    def __init__(self, ctx: Context, lang: str, path: str, query: dict[str, str] | None = None):
        self.ctx, self.lang, self.path, self.query = ctx, lang, path, query or {}

    def t(self, key: str, **params: Any) -> str:
        return _e(t(f"termin.{key}", self.lang, **params))

    def render(self, heading: str, body: str, status: int = 200) -> web.Response:
        other = "en" if self.lang == "de" else "de"
        switch_url = f"{self.path}?{urlencode({**self.query, 'lang': other})}"
        switch = (f'<a href="{_e(switch_url)}" lang="{other}" hreflang="{other}">'
                  f'{_e(t("termin.lang.switch", self.lang))}</a>')
        text = LAYOUT.substitute(
            lang=self.lang, title=f"{heading} – {self.t('brand')}", css=CSS,
            brand=self.t("brand"), lang_nav=self.t("lang.nav"), lang_switch=switch,
            heading=heading, body=body, footer=self.t("footer"),
        )
        response = web.Response(text=text, status=status, content_type="text/html",
                                charset="utf-8")
        response.headers.update({
            "Cache-Control": "no-store", "X-Robots-Tag": "noindex, nofollow",
            "Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
        })
        return response

    def error(self, status: int, kind: str | None = None) -> web.Response:
        kind = kind or {404: "invalid", 410: "expired", 403: "forbidden"}.get(status, "invalid")
        return self.render(self.t(f"{kind}.title"), f"<p>{self.t(f'{kind}.text')}</p>", status)


def _lang(request: web.Request, a: AppointmentView | None, form: Any = None) -> str:
    wanted = (form or {}).get("lang") or request.query.get("lang")
    if wanted in LANGUAGES:
        return str(wanted)
    return a.language if a is not None and a.language in LANGUAGES else "de"


def _details(p: Page, a: AppointmentView, office: Office, service: Service) -> str:
    lang = p.lang
    rows = [
        ("label.reference", _e(a.display_reference)),
        ("label.service", _e(service.name.get(lang))),
        ("label.when", _e(when(a.start.astimezone(office.tz), lang))),
        ("label.office", f"{_e(office.name.get(lang))}<br>{_e(office.address.one_line())}"),
        ("label.mode", _e(t(f"mode.{a.mode}", lang))),
        ("label.status", p.t(f"status.{a.status}")),
    ]
    if a.status == "booked":
        docs = "".join(f"<li>{_e(d)}</li>" for d in service.documents.get(lang, []))  # type: ignore[call-overload]
        rows.append(("label.documents", f"<ul>{docs}</ul>"))
        rows.append(("label.fee", _e(service.fee.get(lang))))
        if service.notes:
            rows.append(("label.notes", _e(service.notes.get(lang))))
        if a.video_url:
            rows.append(("label.video", f'<a href="{_e(a.video_url)}">{p.t("video_link")}</a>'))
    if office.phone:
        rows.append(("label.phone", _e(office.phone)))
    return "<dl>" + "".join(f"<dt>{p.t(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _hidden(csrf: str, lang: str) -> str:
    return (f'<input type="hidden" name="csrf" value="{_e(csrf)}">'
            f'<input type="hidden" name="lang" value="{_e(lang)}">')


def _appointment_page(ctx: Context, request: web.Request, token: str, a: AppointmentView,
                      secret: bytes, lang: str, error: str = "", status: int = 200
                      ) -> web.Response:
    office, service = ctx.config.office(a.office), ctx.config.service(a.service)
    assert office is not None and service is not None
    base = f"{_prefix(ctx)}/termin/{token}"
    p = Page(ctx, lang, base, {k: v for k, v in request.query.items() if k == "done"})
    parts = []
    done = request.query.get("done")
    if done in {"cancelled", "moved"}:
        parts.append(f'<p class="notice" role="status">{p.t(f"done.{done}")}</p>')
    if error:
        parts.append(f'<p class="error" role="alert">{p.t(error)}</p>')
    parts.append(_details(p, a, office, service))
    if a.status == "cancelled":
        parts.append(f"<p>{p.t('cancelled_info')}</p>")
    elif a.start <= ctx.now():
        parts.append(f"<p>{p.t('past')}</p>")
    else:
        hidden = _hidden(csrf_token(secret, token), lang)
        slots_url = f"{base}/slots?{urlencode({'lang': lang})}"
        parts.append(
            f'<h2 id="change">{p.t("change.heading")}</h2>'
            f'<p><a class="button" href="{_e(slots_url)}">{p.t("change.other")}</a></p>'
            f'<h2 id="cancel">{p.t("cancel.heading")}</h2>'
            f'<form method="post" action="{_e(base)}/cancel" aria-labelledby="cancel">{hidden}'
            f'<p class="choice"><input type="checkbox" id="confirm" name="confirm" value="yes" '
            f'required><label for="confirm">{p.t("cancel.confirm_label")}</label></p>'
            f'<p><button type="submit" class="danger">{p.t("cancel.button")}</button></p>'
            "</form>"
        )
    return p.render(p.t("title"), "".join(parts), status)


async def _slots_page(ctx: Context, s: AppointmentPageSettings, request: web.Request,
                      token: str, a: AppointmentView, secret: bytes, lang: str, error: str = "",
                      status: int = 200) -> web.Response:
    office, service = ctx.config.office(a.office), ctx.config.service(a.service)
    assert office is not None and service is not None
    base = f"{_prefix(ctx)}/termin/{token}"
    now = ctx.now()
    today = now.astimezone(office.tz).date()
    last_day = (now + timedelta(days=ctx.config.booking.horizon_days)).astimezone(office.tz).date()
    try:
        first = date.fromisoformat(request.query.get("from", ""))
    except ValueError:
        first = today
    first = min(max(first, today), last_day)
    frm = datetime.combine(first, datetime.min.time(), tzinfo=office.tz)
    to = frm + timedelta(days=s.days_per_page)
    p = Page(ctx, lang, f"{base}/slots", {"from": first.isoformat()} if first > today else {})
    if a.status != "booked" or a.start <= now:
        return _appointment_page(ctx, request, token, a, secret, lang)
    found = await availability.free_slots(ctx, a.service, a.office, max(frm, now), to,
                                          limit=s.max_slots)
    truncated = len(found) >= s.max_slots
    slots = [x for x in found if x.start != a.start]
    if truncated and len({x.start.astimezone(office.tz).date() for x in slots}) > 1:
        # Show whole days only; the cut-off day starts the next page.
        cut = slots[-1].start.astimezone(office.tz).date()
        slots = [x for x in slots if x.start.astimezone(office.tz).date() < cut]
        next_day = cut
    else:
        next_day = to.date()
        if truncated and slots:
            next_day = slots[-1].start.astimezone(office.tz).date() + timedelta(days=1)
    parts = []
    if error:
        parts.append(f'<p class="error" role="alert">{p.t(error)}</p>')
    parts.append(f"<p>{p.t('slots.intro', service=service.name.get(lang), office=office.name.get(lang), current=when(a.start.astimezone(office.tz), lang))}</p>")  # noqa: E501
    if slots:
        groups: dict[date, list[str]] = {}
        for i, slot in enumerate(slots):
            local = slot.start.astimezone(office.tz)
            sid = f"slot-{i}"
            groups.setdefault(local.date(), []).append(
                f'<span class="choice"><input type="radio" name="start" id="{sid}" '
                f'value="{_e(slot.start.astimezone(UTC).isoformat())}" required>'
                f'<label for="{sid}">{p.t("time", time=clock(local, lang))}</label></span>')
        fieldsets = "".join(
            f'<fieldset><legend>{_e(day(d, lang))}</legend><div class="slots">{"".join(items)}'
            "</div></fieldset>" for d, items in groups.items())
        parts.append(
            f'<form method="post" action="{_e(base)}/move">'
            f"{_hidden(csrf_token(secret, token), lang)}{fieldsets}"
            f'<p><button type="submit">{p.t("slots.submit")}</button></p></form>')
    else:
        parts.append(f"<p>{p.t('slots.none')}</p>")
    pager = []
    if first > today:
        pager.append(f'<a href="{_e(base)}/slots?{urlencode({"lang": lang})}">'
                     f'{p.t("slots.first")}</a>')
    if next_day <= last_day:
        later = urlencode({"from": next_day.isoformat(), "lang": lang})
        pager.append(f'<a href="{_e(base)}/slots?{_e(later)}">{p.t("slots.later")}</a>')
    pager.append(f'<a href="{_e(base)}?{urlencode({"lang": lang})}">{p.t("slots.back")}</a>')
    parts.append(f'<p class="pager">{"".join(pager)}</p>')
    return p.render(p.t("slots.heading"), "".join(parts), status)


# -- routes --------------------------------------------------------------------------------------


def _origin(lang: str) -> booking.Origin:
    return booking.Origin(channel=NAME, sender=None, language=lang)


def _see_other(ctx: Context, token: str, **query: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{_prefix(ctx)}/termin/{token}?{urlencode(query)}")


async def _move(ctx: Context, a: AppointmentView, start: datetime, lang: str
                ) -> AppointmentView | None:
    """Move to `start` if it is still a free slot of the same service and office (`hold` and
    `move` check the start once more, like every booking service)."""
    free = await availability.free_slots(ctx, a.service, a.office, start, start, limit=1)
    if not free or free[0].start != start:
        return None
    slot = free[0]
    hold = await booking.hold(ctx, a.office, slot.start, slot.end, service_id=a.service)
    if hold is None:
        return None
    moved = await reschedule.move(ctx, a.id, hold, slot.start, slot.end, _origin(lang))
    if moved is None:
        await booking.release(ctx, hold)
    return moved


# -- the plugin ---------------------------------------------------------------------------------


class AppointmentPage(Plugin):
    """The page `/termin/{token}` and the links to it (`appointment_link`)."""

    settings_model = AppointmentPageSettings
    settings: AppointmentPageSettings

    async def link_secret(self, ctx: Context) -> bytes:
        """The signing secret: from the environment, else the one kept in the database."""
        env_name = self.settings.secret_env
        env = os.environ.get(env_name)
        if env:
            if len(env) < MIN_SECRET:
                raise ConfigError(f"{env_name} must be at least {MIN_SECRET} characters long "
                                  "(e.g. `openssl rand -base64 48`)")
            return env.encode()
        stored = await ctx.get_state(self.name, STATE_KEY)
        if stored is None:
            # Another worker may store one at the same moment: then theirs is used.
            with contextlib.suppress(IntegrityError):
                await ctx.set_state(self.name, STATE_KEY, {"secret": secrets.token_urlsafe(48)})
            stored = await ctx.get_state(self.name, STATE_KEY)
        assert stored is not None
        return str(stored["secret"]).encode()

    async def personal_link(self, ctx: Context, appointment: AppointmentView) -> str | None:
        """The citizen's link to this appointment's page; None when the appointment is not
        booked any more."""
        if appointment.status != "booked":
            return None
        token = make_token(await self.link_secret(ctx), appointment)
        return f"{ctx.config.server.base_url}/termin/{token}"

    @hookimpl
    def appointment_link(self, ctx: Context, appointment: AppointmentView
                         ) -> Awaitable[str | None] | None:
        if appointment.status != "booked":
            return None  # (another page plugin may answer)
        return self.personal_link(ctx, appointment)

    @hookimpl
    async def startup(self, ctx: Context) -> None:
        await self.link_secret(ctx)  # fail early on a short secret; create the stored one once

    @hookimpl
    def message_catalogs(self) -> list[Path]:
        return sorted(Path(__file__).with_name("locales").glob("termin.*.po"))

    @hookimpl
    def register_routes(self, app: web.Application, ctx: Context) -> None:
        async def load(request: web.Request) -> tuple[str, AppointmentView, bytes]:
            token = request.match_info["token"]
            secret = await self.link_secret(ctx)
            return token, await resolve(ctx, token, secret), secret

        def failed(request: web.Request, exc: PageError, lang: str | None = None) -> web.Response:
            path = _prefix(ctx) + request.path
            return Page(ctx, lang or _lang(request, exc.appointment), path).error(exc.status,
                                                                                  exc.kind)

        async def show(request: web.Request) -> web.Response:
            try:
                token, a, secret = await load(request)
            except PageError as exc:
                return failed(request, exc)
            return _appointment_page(ctx, request, token, a, secret, _lang(request, a))

        async def slots(request: web.Request) -> web.Response:
            try:
                token, a, secret = await load(request)
            except PageError as exc:
                return failed(request, exc)
            return await _slots_page(ctx, self.settings, request, token, a, secret,
                                     _lang(request, a))

        async def checked_post(request: web.Request
                               ) -> tuple[str, AppointmentView, bytes, Any, str]:
            token, a, secret = await load(request)
            form = await request.post()
            lang = _lang(request, a, form)
            given = form.get("csrf")
            if not isinstance(given, str) or not hmac.compare_digest(
                    given.encode(), csrf_token(secret, token).encode()):
                raise PageError(403)
            return token, a, secret, form, lang

        async def do_cancel(request: web.Request) -> web.Response:
            try:
                token, a, secret, form, lang = await checked_post(request)
            except PageError as exc:
                if exc.kind == "outdated" and await double_cancel(request, exc):
                    # A second click on "cancel": the first one cancelled, say so (and no more).
                    assert exc.appointment is not None
                    lang = _lang(request, exc.appointment)
                    p = Page(ctx, lang, _prefix(ctx) + request.path)
                    return p.render(p.t("title"), f'<p class="notice" role="status">'
                                    f'{p.t("done.cancelled")}</p>')
                return failed(request, exc)
            if a.status == "booked" and a.start > ctx.now():
                if form.get("confirm") != "yes":
                    return _appointment_page(ctx, request, token, a, secret, lang,
                                             error="cancel.need_confirm", status=400)
                cancelled = await cancel.cancel(ctx, a.id, _origin(lang))
                if cancelled is not None:
                    token = make_token(secret, cancelled)  # the old link is out of date now
            raise _see_other(ctx, token, done="cancelled", lang=lang)

        async def double_cancel(request: web.Request, exc: PageError) -> bool:
            """True for a cancel form sent again (valid CSRF of the old link) for an appointment
            that is cancelled by now."""
            a = exc.appointment
            if a is None or a.status != "cancelled":
                return False
            form = await request.post()
            given = form.get("csrf")
            secret = await self.link_secret(ctx)
            return isinstance(given, str) and hmac.compare_digest(
                given.encode(), csrf_token(secret, request.match_info["token"]).encode())

        async def do_move(request: web.Request) -> web.Response:
            try:
                token, a, secret, form, lang = await checked_post(request)
            except PageError as exc:
                return failed(request, exc)
            if a.status != "booked" or a.start <= ctx.now():
                raise _see_other(ctx, token, lang=lang)
            try:
                start = datetime.fromisoformat(str(form.get("start", "")))
                if start.tzinfo is None:
                    raise ValueError("naive")
            except ValueError:
                return await _slots_page(ctx, self.settings, request, token, a, secret, lang,
                                         error="slots.pick_one", status=400)
            if start == a.start:
                raise _see_other(ctx, token, done="moved", lang=lang)
            moved = await _move(ctx, a, start, lang)
            if moved is None:
                return await _slots_page(ctx, self.settings, request, token, a, secret, lang,
                                         error="slots.taken", status=409)
            new_token = make_token(secret, moved)
            raise _see_other(ctx, new_token, done="moved", lang=lang)

        prefix = "/termin/{token}"
        app.router.add_get(prefix, show)
        app.router.add_get(prefix + "/slots", slots)
        app.router.add_post(prefix + "/cancel", do_cancel)
        app.router.add_post(prefix + "/move", do_move)
