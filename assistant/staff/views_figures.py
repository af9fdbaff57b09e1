"""The county's figures page (`/staff/figures`) and its CSV (`/staff/figures.csv`).

`?office=ID` (one office; without it every office the user may see) and `?month=YYYY-MM`
(this month by `ctx.now()` in the office's time zone without it). A county admin sees every
office, a clerk or office admin their own: another office is 403, an unknown one 404, a month
that is none 400. The charts are server-rendered SVG (no script), each with the same numbers
in a table beside it; the CSV has one row per month, office and channel (`all`: the office's
totals and the figures that are not per channel)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from assistant.config import Office
from assistant.http.common import CTX
from assistant.i18n import has, t
from assistant.staff import access, figures, pages
from assistant.staff.figures import KINDS, OfficeFigures
from assistant.staff.sessions import Current
from assistant.staff.views_auth import authenticated
from assistant.staff.views_day import FIRST_YEAR, LAST_YEAR, _frame, _office_name

MONTH = re.compile(r"(\d{4})-(\d{2})")
CSV_FIELDS = ("month", "office", "channel", "by", "booked", "moved", "cancelled",
              "share_via_amtsbote", "citizen_minutes_per_booking",
              "clerk_minutes_per_booking", "service_minutes", "no_show_rate")
BAR_WIDTH = 320  # the charts' bar area, in SVG units


def _choice(request: web.Request, who: Current) -> tuple[list[Office], int, int]:
    ctx = request.app[CTX]
    visible = access.visible_offices(who.user, ctx.config)
    if not visible:
        raise pages.Respond(pages.message(request, 403, "no_office", **_frame(ctx, who)))
    wanted = request.query.get("office", "")
    if wanted:
        office = ctx.config.office(wanted)
        if office is None:
            raise pages.Respond(pages.message(request, 404, "not_found", **_frame(ctx, who)))
        if office.id not in visible:
            raise pages.Respond(pages.message(request, 403, "forbidden", **_frame(ctx, who)))
        offices = [office]
    else:
        offices = [o for o in (ctx.config.office(i) for i in visible) if o is not None]
    raw = request.query.get("month", "")
    if raw:
        found = MONTH.fullmatch(raw)
        year, month = (int(found.group(1)), int(found.group(2))) if found else (0, 0)
        if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
            raise pages.Respond(pages.message(request, 400, "bad_request", **_frame(ctx, who)))
    else:
        today = ctx.now().astimezone(offices[0].tz)
        year, month = today.year, today.month
    return offices, year, month


async def _compute(request: web.Request, offices: list[Office], year: int, month: int
                   ) -> list[OfficeFigures]:
    ctx = request.app[CTX]
    async with ctx.db() as db:
        return [await figures.for_office(db, o, year, month) for o in offices]


def _number(value: float | None, lang: str, digits: int = 1) -> str:
    if value is None:
        return ""
    text = f"{value:.{digits}f}"
    return text.replace(".", ",") if lang == "de" else text


def _percent(value: float | None, lang: str) -> str:
    return "" if value is None else f"{_number(value * 100, lang, 0)} %"


def _channel(channel: str, lang: str) -> str:
    key = f"staff.channel.{channel}"
    return t(key, lang) if has(key, lang) else channel


@dataclass
class Bar:
    label: str
    value: float  # 0..1 of the bar area
    text: str


def _bars(rows: list[tuple[str, float | None, str]], scale: float) -> list[Bar]:
    return [Bar(label, (value or 0) / scale if scale else 0, text)
            for label, value, text in rows]


def _view(f: OfficeFigures, office: Office, lang: str) -> dict[str, Any]:
    def tr(key: str, **params: object) -> str:
        return t(key, lang, **params)

    kinds = [(k, tr(f"staff.figures.kind.{k}"), f.count(k, False), f.count(k, True),
              _percent(f.share(k), lang)) for k in KINDS]
    share_bars = _bars([(label, f.share(k), _percent(f.share(k), lang) or tr(
        "staff.figures.none")) for k, label, *_ in kinds]
        + [(tr("staff.figures.kind.all"), f.share(), _percent(f.share(), lang)
            or tr("staff.figures.none"))], 1.0)
    not_measured = tr("staff.figures.not_measured")
    # labelled in the template with the short `staff.figures.short.<name>`
    minutes = [("citizen", f.citizen_minutes), ("clerk", f.clerk_minutes),
               ("service_time", f.service_minutes)]
    top = max((m for _, m in minutes if m is not None), default=0.0)
    minute_bars = _bars([(label, m, tr("staff.figures.minutes", minutes=_number(m, lang))
                          if m is not None else not_measured) for label, m in minutes], top)
    return {"figures": f, "office": office, "name": _office_name(office, lang),
            "kinds": kinds, "share": _percent(f.share(), lang),
            "share_bars": share_bars, "minute_bars": minute_bars,
            "channels": [(_channel(c.channel, lang), c, _number(c.citizen_minutes, lang))
                         for c in f.channels],
            "citizen": _number(f.citizen_minutes, lang) or None,
            "clerk": _number(f.clerk_minutes, lang) or None,
            "service": _number(f.service_minutes, lang) or None,
            "no_show": _percent(f.no_show_rate, lang) or None}


@pages.handler
async def figures_page(request: web.Request) -> web.StreamResponse:
    ctx = request.app[CTX]
    who = await authenticated(request)
    offices, year, month = _choice(request, who)
    lang = pages.language(request)
    found = await _compute(request, offices, year, month)
    month_text = f"{year:04}-{month:02}"
    previous = f"{year - (month == 1):04}-{(month - 2) % 12 + 1:02}"
    following = f"{year + (month == 12):04}-{month % 12 + 1:02}"
    office_q = f"office={offices[0].id}&" if request.query.get("office") else ""
    return pages.render(request, "figures.html", {
        **_frame(ctx, who), "month": month_text, "office_q": office_q,
        "previous": previous, "following": following, "bar_width": BAR_WIDTH,
        "views": [_view(f, o, lang) for f, o in zip(found, offices, strict=True)],
        "csv": f"/staff/figures.csv?{office_q}month={month_text}"})


def _csv_number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


@pages.handler
async def figures_csv(request: web.Request) -> web.StreamResponse:
    who = await authenticated(request)
    offices, year, month = _choice(request, who)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_FIELDS)
    for f in await _compute(request, offices, year, month):
        writer.writerow([f.month, f.office_id, "all", "",
                         *(f.count(k, False) + f.count(k, True) for k in KINDS),
                         _csv_number(f.share(), 3), _csv_number(f.citizen_minutes),
                         _csv_number(f.clerk_minutes), _csv_number(f.service_minutes),
                         _csv_number(f.no_show_rate, 3)])
        for c in f.channels:
            writer.writerow([f.month, f.office_id, c.channel,
                             "staff" if c.by_staff else "amtsbote",
                             *(c.counts[k] for k in KINDS), "",
                             _csv_number(c.citizen_minutes), "", "", ""])
    name = f"amtsbote-figures-{year:04}-{month:02}.csv"
    return web.Response(body=out.getvalue().encode(), headers={
        **pages.HEADERS, "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"'})
