"""Texts after a call: the booking confirmation by SMS to a mobile caller, and reminders of
appointments booked by phone (the `deliver` hook), in the SMS channel's wording."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from assistant.plugin import (
    TextVariants,
    e164,
    fitting,
    gsm_safe,
    is_mobile,
    opted_out,
    t,
    when,
)

if TYPE_CHECKING:
    from assistant.plugin import AppointmentView, Context, Reply

log = logging.getLogger(__name__)

MAX_SEGMENTS = 3
# Reminders read `sms.<key>` (the SMS channel's catalog comes with the line's, see the plugin).
SMS_TEXTS = TextVariants("sms")


def caller(appointment: AppointmentView) -> str | None:
    """The number an appointment booked by phone was booked from."""
    sender = (appointment.sender or "").split("/", 1)[0]
    return appointment.phone or e164(sender)


async def confirm_by_sms(ctx: Context, a: AppointmentView, number: str) -> None:
    if await opted_out(ctx, number):
        return
    office, service = ctx.config.office(a.office), ctx.config.service(a.service)
    if office is None or service is None:
        return
    lang = a.language
    params = {"service": service.name.get(lang), "office": office.name.get(lang),
              "address": office.address.one_line(), "reference": a.display_reference,
              "when": when(a.start.astimezone(office.tz), lang),
              "documents": ", ".join(service.documents[lang])}
    body = fitting([gsm_safe(t("voice.sms.booked", lang, **params)),
                    gsm_safe(t("voice.sms.booked.short", lang, **params))], MAX_SEGMENTS)
    if await ctx.call_first("send_sms", ctx=ctx, to=number, body=body) is None:
        log.warning("booking confirmation by SMS not sent: no SMS gateway plugin enabled")


async def deliver_by_sms(ctx: Context, recipient: str, replies: list[Reply]) -> bool:
    """Replies (a reminder) as one SMS to the caller, if the caller has a mobile number."""
    number = e164(recipient.split("/", 1)[0])
    if number is None or not is_mobile(number) or await opted_out(ctx, number):
        return False
    body = gsm_safe("\n".join(SMS_TEXTS.text(r) for r in replies))
    return await ctx.call_first("send_sms", ctx=ctx, to=number, body=body) is not None
