"""E-mail notifier `email`: confirmation, change, cancellation and reminder mails with `.ics`.

Called through the `notify` hook from the outbox worker, never while a citizen waits. Only
appointments with an e-mail address get mail, in the appointment's language (texts from
`locales/email.{de,en}.po`, layout from `templates/email.html`), with the citizen's link to
the appointment page when a page plugin answers `appointment_link`. Mails are proper MIME: a
text part, an HTML part and, for bookings, changes and cancellations, an iCalendar attachment
(METHOD:PUBLISH, UID from the reference, Europe/Berlin VTIMEZONE, SEQUENCE growing with each
change). SMTP (aiosmtplib) with STARTTLS or implicit TLS and login (UTF-8 passwords work); user
name and password come from environment variables named in config.yml.

A temporary failure (server down, 4xx) raises, so the outbox retries with backoff; a recipient
the server refuses for good (5xx) is logged by appointment id and dropped.
"""

from __future__ import annotations

import html
import logging
import os
import ssl
from datetime import UTC, date
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, Literal

import aiosmtplib
from babel.dates import format_date
from icalendar import Calendar, Event
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from assistant.plugin import BABEL_LOCALE, Plugin, hookimpl, t, when

if TYPE_CHECKING:
    from collections.abc import Awaitable

    from assistant.plugin import AppointmentView, Context, Office, Service

EVENTS = ("booked", "rescheduled", "cancelled", "reminder", "closure")
HTML_LAYOUT = Template((Path(__file__).with_name("templates") / "email.html").read_text("utf-8"))

log = logging.getLogger(__name__)


class EmailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True  # upgrade with STARTTLS (port 587); required when true
    tls: bool = False  # implicit TLS from the first byte (port 465) instead
    # Names of the environment variables with the SMTP login (unset: no login).
    username_env: str | None = None
    password_env: str | None = None
    # "Landkreis Meißen – Bürgerbüro <termine@kreis-meissen.de>"
    from_address: str
    reply_to: str | None = None
    # A CA bundle to trust for the SMTP server (an internal mail relay); default: system CAs.
    ca_file: str | None = None
    timeout_seconds: float = Field(default=20, gt=0, le=300)
    events: list[Literal["booked", "rescheduled", "cancelled", "reminder", "closure"]] = Field(
        default_factory=lambda: list(EVENTS))

    @field_validator("ca_file", "username_env", "password_env", "reply_to", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("from_address", "reply_to")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None:
            parsed = getaddresses([value])
            if len(parsed) != 1 or "@" not in parsed[0][1]:
                raise ValueError(f"not one e-mail address: {value!r}")
        return value

    @field_validator("ca_file")
    @classmethod
    def _readable(cls, value: str | None) -> str | None:
        if value is not None and not Path(value).is_file():
            raise ValueError(f"CA file {value} not found")
        return value

    @model_validator(mode="after")
    def _one_tls_mode(self) -> EmailSettings:
        if self.starttls and self.tls:
            raise ValueError("choose starttls (port 587) or tls (port 465), not both")
        return self

    @property
    def domain(self) -> str:
        return getaddresses([self.from_address])[0][1].rsplit("@", 1)[1].lower()


class MailDeferred(Exception):
    """The server wants the mail later; the outbox retries."""


class Email(Plugin):
    """Sends the mails of the `notify` events to appointments with an e-mail address."""

    settings_model = EmailSettings
    settings: EmailSettings

    @hookimpl
    def startup(self, ctx: Context) -> None:
        s = self.settings
        for env in (s.username_env, s.password_env):
            if env and not os.environ.get(env):
                log.error("email: environment variable %s is not set; mails will wait in the "
                          "outbox until it is", env)

    @hookimpl
    def notify(self, ctx: Context, event: str, appointment: AppointmentView,
               extra: dict[str, Any]) -> Awaitable[None] | None:
        if not appointment.email or event not in self.settings.events:
            return None
        return send(ctx, self.settings, event, appointment, str(extra.get("reason", "")))

    @hookimpl
    def message_catalogs(self) -> list[Path]:
        return sorted(Path(__file__).with_name("locales").glob("email.*.po"))


async def send(ctx: Context, s: EmailSettings, event: str, a: AppointmentView,
               reason: str = "") -> None:
    link = None
    if event != "cancelled":  # the page to move or cancel it, if a page plugin is on
        link = await ctx.call_first("appointment_link", ctx=ctx, appointment=a)
    try:
        msg = build_message(ctx, s, event, a, link, reason)
    except (ValueError, HeaderParseError, LookupError) as exc:
        # An address the headers cannot hold, or an office/service gone from the catalogue:
        # retrying would not help.
        log.warning("email: appointment %s: cannot build the mail (%s), dropped", a.id,
                    type(exc).__name__)
        return
    user, password = _login(s)
    tls = ssl.create_default_context(cafile=s.ca_file) if s.tls or s.starttls else None
    try:
        await aiosmtplib.send(msg, hostname=s.host, port=s.port, username=user,
                              password=password, use_tls=s.tls,
                              start_tls=s.starttls if not s.tls else False, tls_context=tls,
                              timeout=s.timeout_seconds)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [r.code for r in exc.recipients]
        if codes and all(code >= 500 for code in codes):
            log.warning("email: appointment %s: recipient refused for good (%s), mail dropped",
                        a.id, ",".join(map(str, codes)))
            return
        # Deferred (4xx): retry later; the server's text may name the address, so drop it.
        raise MailDeferred(f"recipient deferred ({','.join(map(str, codes))})") from None
    log.info("email: %s mail for appointment %s sent", event, a.id)


def _login(s: EmailSettings) -> tuple[str | None, str | None]:
    if not s.username_env:
        return None, None
    user = os.environ.get(s.username_env)
    password = os.environ.get(s.password_env) if s.password_env else None
    if not user or password is None:
        raise LookupError(f"SMTP login: set the environment variables {s.username_env} and "
                          f"{s.password_env}")
    return user, password


# -- the message ---------------------------------------------------------------------------------


def _facts(ctx: Context, a: AppointmentView) -> tuple[Office, Service, dict[str, str]]:
    office, service = ctx.config.office(a.office), ctx.config.service(a.service)
    if office is None or service is None:
        raise LookupError(f"appointment {a.id}: office or service no longer in the catalogue")
    lang = a.language
    start = a.start.astimezone(office.tz)
    return office, service, {
        "reference": a.display_reference,
        "service": service.name.get(lang),
        "office": office.name.get(lang),
        "address": office.address.one_line(),
        "when": when(start, lang),
        "date": format_date(start.date(), "dd.MM.yyyy" if lang == "de" else "d MMM yyyy",
                            locale=BABEL_LOCALE.get(lang, "de_DE")),
        "name": a.citizen_name or "",
        "fee": service.fee.get(lang),
        "mode": t(f"mode.{a.mode}", lang),
    }


def _blocks(ctx: Context, event: str, a: AppointmentView, link: str | None, reason: str = ""
            ) -> tuple[str, list[tuple[str, str]], list[str], list[str], list[str]]:
    """Intro, detail rows, documents, link paragraphs and closing paragraphs, as plain text."""
    office, service, f = _facts(ctx, a)
    lang = a.language
    rows = [(t("email.label.reference", lang), f["reference"]),
            (t("email.label.service", lang), f["service"]),
            (t("email.label.when", lang), f["when"]),
            (t("email.label.office", lang), f"{f['office']}, {f['address']}")]
    if a.mode != "in_person":
        rows.append((t("email.label.mode", lang), f["mode"]))
    documents: list[str] = []
    if event != "cancelled":
        documents = list(service.documents.get(lang, []))  # type: ignore[call-overload]
        rows.append((t("email.label.fee", lang), f["fee"]))
        if service.notes:
            rows.append((t("email.label.notes", lang), service.notes.get(lang)))
        if a.video_url:
            rows.append((t("email.label.video", lang), a.video_url))
    links = []
    if link:
        links.append(t("email.link", lang, url=link))
        links.append(t("email.link_note", lang))
    closing = []
    if event in {"booked", "rescheduled"}:
        closing.append(t("email.calendar_note", lang))
    if event == "cancelled":
        closing.append(t("email.rebook", lang))
    if event == "closure":  # a closure covers it: choose a new time (it stays booked till then)
        closing.append(t("email.closure_note", lang))
    if office.phone:
        closing.append(t("email.questions", lang, office=f["office"], phone=office.phone))
    intro = t(f"email.intro.{event}", lang, **f, reason=reason)
    return intro, rows, documents, links, closing


def _text(ctx: Context, event: str, a: AppointmentView, link: str | None,
          reason: str = "") -> str:
    intro, rows, documents, links, closing = _blocks(ctx, event, a, link, reason)
    lang = a.language
    width = max(len(label) for label, _ in rows) + 2
    parts = [_greeting(a), intro, "\n".join(f"{label + ':':<{width}}{value}"
                                            for label, value in rows)]
    if documents:
        parts.append(t("email.label.documents", lang) + ":\n"
                     + "\n".join(f"  • {d}" for d in documents))
    parts += links + closing
    parts.append(t("email.signoff", lang, office=_facts(ctx, a)[2]["office"]))
    parts.append("-- \n" + t("email.footer", lang))
    return "\n\n".join(parts) + "\n"


def _html(ctx: Context, event: str, a: AppointmentView, link: str | None, subject: str,
          reason: str = "") -> str:
    intro, rows, documents, _, closing = _blocks(ctx, event, a, link, reason)
    lang = a.language
    e = html.escape
    cell = 'style="text-align:left;vertical-align:top;padding:4px 16px 4px 0;"'
    table = "".join(f"<tr><th scope=\"row\" {cell}>{e(k)}</th><td {cell}>{e(v)}</td></tr>"
                    for k, v in rows)
    body = [f"<p>{e(_greeting(a))}</p>", f"<p>{e(intro)}</p>",
            f'<table role="presentation" style="border-collapse:collapse;">{table}</table>']
    if documents:
        items = "".join(f"<li>{e(d)}</li>" for d in documents)
        body.append(f"<p><strong>{e(t('email.label.documents', lang))}:</strong></p>"
                    f"<ul>{items}</ul>")
    if link:
        body.append(
            f'<p><a href="{e(link)}" style="display:inline-block;background:#004b87;'
            f'color:#ffffff;padding:10px 16px;border-radius:4px;font-weight:bold;'
            f'text-decoration:none;">{e(t("email.link_button", lang))}</a></p>'
            f"<p>{e(t('email.link_note', lang))}</p>")
    body += [f"<p>{e(p)}</p>" for p in closing]
    signoff = t("email.signoff", lang, office=_facts(ctx, a)[2]["office"])
    body.append("<p>" + "<br>".join(e(line) for line in signoff.splitlines()) + "</p>")
    return HTML_LAYOUT.substitute(lang=lang, title=e(subject), brand=e(t("email.brand", lang)),
                                  body="\n".join(body), footer=e(t("email.footer", lang)))


def _greeting(a: AppointmentView) -> str:
    if a.citizen_name:
        return t("email.greeting", a.language, name=a.citizen_name)
    return t("email.greeting_anonymous", a.language)


def sequence(a: AppointmentView) -> int:
    """iCalendar SEQUENCE: grows with every change (seconds since booking; a cancellation
    counts one more, so even one in the booking's own second supersedes it)."""
    seconds = max(0, int((a.updated_at - a.created_at).total_seconds()))
    return seconds + (1 if a.status == "cancelled" else 0)


def calendar_file(ctx: Context, s: EmailSettings, a: AppointmentView, link: str | None) -> bytes:
    office, service, f = _facts(ctx, a)
    lang = a.language
    cal = Calendar()
    cal.add("prodid", "-//Amtsbote//Terminservice//DE")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    ev = Event()
    ev.add("uid", f"{a.reference}@{s.domain}")
    ev.add("dtstamp", a.updated_at.astimezone(UTC))
    ev.add("sequence", sequence(a))
    ev.add("dtstart", a.start.astimezone(office.tz))
    ev.add("dtend", a.end.astimezone(office.tz))
    ev.add("summary", t("email.ics.summary", lang, **f))
    ev.add("location", a.video_url if a.mode == "video" and a.video_url
           else f"{f['office']}, {f['address']}")
    lines = [f"{t('email.label.reference', lang)}: {f['reference']}"]
    if a.status == "booked":
        lines.append(t("email.label.documents", lang) + ":")
        lines += [f"- {d}" for d in service.documents.get(lang, [])]  # type: ignore[call-overload]
        lines.append(f"{t('email.label.fee', lang)}: {f['fee']}")
        if link:
            lines.append(t("email.link", lang, url=link))
    ev.add("description", "\n".join(lines))
    ev.add("status", "CONFIRMED" if a.status == "booked" else "CANCELLED")
    ev.add("transp", "OPAQUE")
    if link:
        ev.add("url", link)
    cal.add_component(ev)
    year = a.start.astimezone(office.tz).year
    cal.add_missing_timezones(first_date=date(year - 1, 1, 1), last_date=date(year + 1, 12, 31))
    return cal.to_ical()


def build_message(ctx: Context, s: EmailSettings, event: str, a: AppointmentView,
                  link: str | None, reason: str = "") -> EmailMessage:
    assert a.email is not None
    _, _, f = _facts(ctx, a)
    lang = a.language
    subject = t(f"email.subject.{event}", lang, **f)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = s.from_address
    msg["To"] = Address(display_name=" ".join((a.citizen_name or "").split()), addr_spec=a.email)
    if s.reply_to:
        msg["Reply-To"] = s.reply_to
    msg["Date"] = format_datetime(ctx.now().astimezone(UTC))
    # Stable across retries (clients drop duplicates), distinct per event, change and reminder.
    stamp = str(int(a.updated_at.timestamp()))
    if event == "reminder":
        stamp += f".{int((a.start - ctx.now()).total_seconds() // 3600)}h"
    msg["Message-ID"] = f"<{event}.{a.reference}.{stamp}@{s.domain}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    msg.set_content(_text(ctx, event, a, link, reason))
    msg.add_alternative(_html(ctx, event, a, link, subject, reason), subtype="html")
    if event in {"booked", "rescheduled", "cancelled"}:
        msg.add_attachment(calendar_file(ctx, s, a, link), maintype="text", subtype="calendar",
                           filename=t("email.ics.filename", lang),
                           params={"method": "PUBLISH", "charset": "utf-8"})
    msg["Content-Language"] = lang  # after the body: set_content drops Content-* headers
    return msg
