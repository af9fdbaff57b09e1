"""Shared by the Twilio SMS and voice channels: webhook signatures, phone numbers, opt-outs,
numbered options and GSM-7 text.

- Every webhook is checked with twilio's `RequestValidator` against the public URL the request
  was sent to (`server.public_url` + path and query), because the server usually sits behind a
  proxy and the signature covers the URL Twilio called, not the one we see.
- The caller's number, normalised to E.164, is the citizen's key and fills in the contact of
  a booking. It is no proof of identity (caller ID and SMS sender numbers can be spoofed):
  the last name is still asked before an appointment is shown, moved or cancelled, unless
  the office sets `caller_id_is_proof: true` for the channel.
- An SMS opt-out (STOP) is kept per number (hashed) and honoured by both channels.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
from dataclasses import replace
from typing import TYPE_CHECKING

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import phonenumbers
from twilio.request_validator import RequestValidator

from assistant.plugin import Button, Incoming, Reply

if TYPE_CHECKING:
    from aiohttp import web
    from multidict import MultiDictProxy

    from assistant.plugin import Context

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
OPT_OUT_PLUGIN = "sms"


# -- webhook signatures ------------------------------------------------------------------------


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


# -- phone numbers ----------------------------------------------------------------------------


def e164(raw: str | None, region: str = "DE") -> str | None:
    """`+4917612345678` for any way of writing a valid number, else None (short codes,
    alphanumeric senders, "anonymous")."""
    if not raw:
        return None
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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


async def converse(ctx: Context, msg: Incoming) -> list[Reply]:
    """`ctx.dialogue.handle`, answering the contact question with the caller's number.

    The caller's number is known, so asking "Handynummer oder E-Mail?" would only cost a turn;
    the number is stored as the appointment's phone. It is handed to the dialogue as a
    verified contact (which finds an appointment booked from this number without the last
    name) only when the office opted in with `caller_id_is_proof`; otherwise it goes as
    `metadata.caller`, for the per-caller limits.
    """
    assert ctx.dialogue is not None
    number = msg.verified_contact
    if number and not caller_id_is_proof(ctx, msg.channel):
        msg = replace(msg, verified_contact=None, metadata={**msg.metadata, "caller": number})
    replies = await ctx.dialogue.handle(msg)
    if number and any(r.key == "book.ask_contact" for r in replies):
        rest = [r for r in replies if r.key != "book.ask_contact"]
        replies = rest + await ctx.dialogue.handle(replace(msg, text=number))
    return replies


def offered_buttons(replies: list[Reply]) -> list[Button]:
    """The buttons a channel offers as numbered options: those of the last reply that has any."""
    for reply in reversed(replies):
        if reply.buttons:
            return list(reply.buttons)
    return []


_BARE_NUMBER = re.compile(
    r"^\s*(?:(?:nr\.?|nummer|number|option|taste|key|die|den|das|the)\s*)?(\d{1,2})\s*[.)]?\s*$",
    re.I)


def chosen_option(text: str, options: list[str]) -> str | None:
    """The payload of option N when the whole message is the number N (1-based)."""
    m = _BARE_NUMBER.match(text)
    if not m:
        return None
    index = int(m.group(1))
    return options[index - 1] if 1 <= index <= len(options) else None


# -- GSM-7 ------------------------------------------------------------------------------------

# Characters that force the whole SMS into UCS-2 (70 instead of 160 characters per segment)
# although a GSM-7 form reads as well. Umlauts and ß are GSM-7 and stay.
_ASCII_FORMS = str.maketrans({
    "„": '"', "“": '"', "”": '"', "‟": '"', "«": '"', "»": '"', "‹": "'", "›": "'",
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "`": "'", "´": "'",
    "–": "-", "—": "-", "‒": "-", "−": "-", "‐": "-", "‑": "-",
    "•": "-", "·": "-", "◦": "-", "▪": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
    "…": "...",
})


def gsm_safe(text: str) -> str:
    """Replace typographic characters by their GSM-7 forms (keeps umlauts, ß and €)."""
    return text.translate(_ASCII_FORMS)


def is_gsm7(text: str) -> bool:
    try:
        text.encode("gsm03.38")
    except UnicodeEncodeError:
        return False
    return True


def sms_units(text: str) -> tuple[int, int, int]:
    """(units, single-segment limit, per-segment limit of a multi-part SMS).

    GSM-7 counts septets (extension-table characters such as € [ ] { } count two); anything
    else goes as UCS-2 and counts UTF-16 code units.
    """
    try:
        return len(text.encode("gsm03.38")), 160, 153
    except UnicodeEncodeError:
        return len(text.encode("utf-16-le")) // 2, 70, 67


def segments(text: str) -> int:
    """How many SMS segments `text` takes."""
    units, single, multi = sms_units(text)
    if units <= single:
        return 1
    return math.ceil(units / multi)
