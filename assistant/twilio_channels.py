"""The kit for channels over Twilio (the SMS channel, the phone line): webhook signatures, TwiML
answers, phone numbers, SMS opt-outs, and the caller's number in the dialogue.

- Every webhook is checked with twilio's `RequestValidator` against the public URL the request
  was sent to (`server.public_url` + path and query), because the server usually sits behind a
  proxy and the signature covers the URL Twilio called, not the one we see.
- The caller's number, normalised to E.164, is the citizen's key and fills in the contact of
  a booking. It is no proof of identity (caller ID and SMS sender numbers can be spoofed):
  the last name is still asked before an appointment is shown, moved or cancelled, unless
  the office sets `caller_id_is_proof: true` for the channel.
- An SMS opt-out (STOP) is kept per number (hashed) and honoured by every channel that texts.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Collection
from dataclasses import replace
from typing import TYPE_CHECKING

import phonenumbers
from aiohttp import web
from twilio.request_validator import RequestValidator

from assistant.booking.appointments import normalize_phone

if TYPE_CHECKING:
    from multidict import MultiDictProxy

    from assistant.context import Context
    from assistant.messages import Incoming, Reply

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
# The plugin whose state holds the opt-outs (the SMS channel's, for compatibility).
OPT_OUT_PLUGIN = "sms"


# -- webhooks ---------------------------------------------------------------------------------


async def signed_form(
    request: web.Request, ctx: Context, token_env: str
) -> MultiDictProxy[str] | None:
    """The form Twilio posted, or None when the request is not signed with our auth token.

    The signed URL is `server.public_url` + path and query, as Twilio called it.
    """
    token = os.environ.get(token_env)
    if not token:
        log.error("%s is not set: refusing Twilio webhooks on %s", token_env, request.path)
        return None
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        log.warning("unsigned request to %s refused", request.path)
        return None
    form = await request.post()
    url = public_url(ctx, request.path_qs)
    if not RequestValidator(token).validate(url, form, signature):
        log.warning("request to %s with a wrong Twilio signature refused", request.path)
        return None
    return form  # type: ignore[return-value]


def public_url(ctx: Context, path_qs: str) -> str:
    return ctx.config.server.base_url + path_qs


def twiml_response(twiml: str) -> web.Response:
    """A webhook's answer: TwiML as `application/xml`."""
    return web.Response(text=twiml, content_type="application/xml")


# -- phone numbers ----------------------------------------------------------------------------


def e164(raw: str | None, region: str = "DE") -> str | None:
    """`+4917612345678` for any way of writing a valid number, else None (short codes,
    alphanumeric senders, "anonymous")."""
    return normalize_phone(raw, region) if raw else None


def is_mobile(number: str | None) -> bool:
    """True for a mobile number, which can receive an SMS."""
    if not number:
        return False
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE


def national(number: str) -> str:
    """`+49 176 12345678` -> `0176 12345678`, for reading a number back."""
    parsed = phonenumbers.parse(number, None)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)


def number_key(number: str) -> str:
    """The key a number is stored under in plugin state: hashed, not in clear."""
    return hashlib.sha256(number.encode()).hexdigest()[:40]


# -- SMS opt-out (STOP / START) ---------------------------------------------------------------


async def opted_out(ctx: Context, number: str) -> bool:
    state = await ctx.get_state(OPT_OUT_PLUGIN, f"optout:{number_key(number)}")
    return bool(state and state.get("opted_out"))


async def set_opt_out(ctx: Context, number: str, value: bool) -> None:
    await ctx.set_state(OPT_OUT_PLUGIN, f"optout:{number_key(number)}",
                        {"opted_out": value, "at": ctx.now().isoformat()})


# -- talking to the dialogue ------------------------------------------------------------------


def caller_id_is_proof(ctx: Context, channel: str) -> bool:
    """Whether the office lets the sender's number stand in for the last name on `channel`
    (`channels.<channel>.caller_id_is_proof`, false unless set)."""
    return bool(getattr(ctx.settings(channel), "caller_id_is_proof", False))


async def converse(ctx: Context, msg: Incoming, number_answers: Collection[str] = ()
                   ) -> list[Reply]:
    """`ctx.dialogue.handle`, answering the contact question with the caller's number.

    The caller's number is known, so asking "Handynummer oder E-Mail?" would only cost a turn:
    a reply whose key is in `number_answers` (the booking flow's `book.ask_contact`) is
    answered with the number at once, stored as the appointment's phone. The number is handed
    to the dialogue as a verified contact (which finds an appointment booked from this number
    without the last name) only when the office opted in with `caller_id_is_proof`; otherwise
    it goes as `metadata.caller`, for the per-caller limits.
    """
    number = msg.verified_contact
    if number and not caller_id_is_proof(ctx, msg.channel):
        msg = replace(msg, verified_contact=None, metadata={**msg.metadata, "caller": number})
    replies = await ctx.dialogue.handle(msg)
    if number and any(r.key in number_answers for r in replies):
        rest = [r for r in replies if r.key not in number_answers]
        replies = rest + await ctx.dialogue.handle(replace(msg, text=number))
    return replies
