"""The core's outbox work: calendar writes, notifier calls and reminders."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.booking.appointments import to_view
from assistant.i18n import t, when
from assistant.messages import Reply
from assistant.storage.models import Appointment

if TYPE_CHECKING:
    from assistant.context import Context
    from assistant.outbox import Outbox

CALENDAR_HOOKS = {"create": "calendar_create_event", "update": "calendar_update_event",
                  "delete": "calendar_delete_event"}


async def _appointment(ctx: Context, payload: dict[str, Any]) -> Appointment | None:
    async with ctx.db() as session:
        return await session.get(Appointment, payload["appointment_id"])


async def calendar(ctx: Context, payload: dict[str, Any]) -> None:
    a = await _appointment(ctx, payload)
    office = ctx.config.office(a.office_id) if a else None
    if a is None or office is None:
        return
    await ctx.call_first(CALENDAR_HOOKS[payload["op"]], ctx=ctx, backend=office.calendar.backend,
                         office=office, appointment=to_view(a))


async def notify(ctx: Context, payload: dict[str, Any]) -> None:
    """Notify of the appointment as it is now. A confirmation or a move of an appointment
    cancelled since (retried after a mail server was down, say) is dropped: it would arrive
    after, or besides, the cancellation's own notice."""
    a = await _appointment(ctx, payload)
    if a is None or a.anonymized_at is not None:
        return
    if payload["event"] != "cancelled" and a.status != "booked":
        return
    await ctx.call_all("notify", ctx=ctx, event=payload["event"], appointment=to_view(a),
                       extra=payload.get("extra", {}))
    if payload["event"] == "closure":
        await closure(ctx, a, str(payload.get("extra", {}).get("reason", "")))


async def closure(ctx: Context, a: Appointment, reason: str) -> None:
    """A closure entered in the back office covers the appointment: besides the notifiers
    (e-mail), the citizen is told on the channel they booked on, or by SMS to the number a
    clerk took down; with the reason and the personal link to pick a new time, if the
    appointment page is on. The appointment stays booked."""
    office = ctx.config.office(a.office_id)
    service = ctx.config.service(a.service_id)
    if office is None or service is None:
        return
    view = to_view(a)
    link = await ctx.call_first("appointment_link", ctx=ctx, appointment=view)
    params = {"reference": view.display_reference, "service": service.name.get(a.language),
              "office": office.name.get(a.language), "reason": reason,
              "when": when(a.start.astimezone(office.tz), a.language)}
    text = t("closure", a.language, **params)
    if link:
        text += " " + t("closure.link", a.language, url=link)
    if a.sender:
        reply = Reply(text=text, key="closure", params=params, language=a.language,
                      data={"reference": view.display_reference})
        await ctx.call_first("deliver", ctx=ctx, channel=a.channel, recipient=a.sender,
                             replies=[reply])
    elif a.phone and not a.email:
        await ctx.call_first("send_sms", ctx=ctx, to=a.phone, body=text)


async def reminder(ctx: Context, payload: dict[str, Any]) -> None:
    """Remind through the notifiers and the channel the citizen booked on. A reminder whose
    appointment was cancelled or moved since it was scheduled is dropped."""
    a = await _appointment(ctx, payload)
    if a is None or a.status != "booked" or a.start != datetime.fromisoformat(payload["start"]):
        return
    view = to_view(a)
    await ctx.call_all("notify", ctx=ctx, event="reminder", appointment=view, extra={})
    office = ctx.config.office(a.office_id)
    service = ctx.config.service(a.service_id)
    if a.sender and office and service:
        params = {"reference": view.display_reference, "service": service.name.get(a.language),
                  "office": office.name.get(a.language), "address": office.address.one_line(),
                  "when": when(a.start.astimezone(office.tz), a.language)}
        reply = Reply(text=t("reminder", a.language, **params), key="reminder", params=params,
                      language=a.language, data={"reference": view.display_reference})
        await ctx.call_first("deliver", ctx=ctx, channel=a.channel, recipient=a.sender,
                             replies=[reply])


def register_core_handlers(outbox: Outbox) -> None:
    outbox.register("calendar", calendar)
    outbox.register("notify", notify)
    outbox.register("reminder", reminder)
