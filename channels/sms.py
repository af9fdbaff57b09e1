"""SMS channel over Twilio: `POST /webhooks/twilio/sms`, answered with TwiML `<Message>`.

- Every request must carry a valid `X-Twilio-Signature` (403 otherwise, nothing processed).
- The sender's number (E.164) is the conversation key and the verified contact, so a citizen
  can cancel "from this number" with the reference code alone.
- Buttons become numbered options ("1: Ja / 2: Nein"); a bare number answers with that
  option's payload. Options are kept per number between messages.
- Replies stay within `max_segments` SMS segments (GSM-7 160/153, UCS-2 70/67): shorter
  catalog variants (`sms.<key>`, `sms.<key>.short`), fewer options, a split only if unavoidable.
- STOP / STOPP / ABMELDEN … opt out (one confirmation, then silence, no reminders) until
  START; HILFE / HELP answers with a short help and the office phone.
- A redelivered webhook (same MessageSid) is answered with the first answer, not run twice.
- Messages outside a request (reminders) go through the `send_sms` hook (`deliver`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from twilio.twiml.messaging_response import MessagingResponse

from assistant.plugin import (
    Button,
    Incoming,
    NumberedOptions,
    Plugin,
    Reply,
    TextVariants,
    converse,
    e164,
    gsm_safe,
    hookimpl,
    json_error,
    number_key,
    offered_buttons,
    opted_out,
    segments,
    set_opt_out,
    signed_form,
    t,
    twiml_response,
)

if TYPE_CHECKING:
    from assistant.plugin import Context

log = logging.getLogger(__name__)

NAME = "sms"
PATH = "/webhooks/twilio/sms"

# Whole-message keywords, case-insensitive, as carriers and Twilio treat them. CANCEL, END and
# QUIT are left out on purpose: here they mean "cancel my appointment" / "end this".
KEYWORDS = {
    "stop": {"stop", "stopp", "stopall", "unsubscribe", "abmelden", "abbestellen"},
    "start": {"start", "unstop"},
    "help": {"hilfe", "help", "info"},
}
# The main menu: the first options to leave out when a reply is too long (it can always be
# reached by writing what one wants).
MENU_INTENTS = {"book_appointment", "reschedule_appointment", "cancel_appointment",
                "check_appointment", "ask_service_info", "ask_opening_hours",
                "request_video_call"}
# Questions the sender's number answers at once (see `converse`).
NUMBER_ANSWERS = {"book.ask_contact"}
KEYWORD_LANG = {"stopp": "de", "abmelden": "de", "abbestellen": "de", "hilfe": "de",
                "unsubscribe": "en", "stopall": "en", "help": "en", "unstop": "en"}


class SmsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Name of the environment variable with the Twilio auth token that signs the webhooks.
    auth_token_env: str = "TWILIO_AUTH_TOKEN"
    # Numbers written without country code are read in this region.
    default_region: str = "DE"
    # The sender's number can be spoofed: by default it only fills in the contact, and the last
    # name is still asked to check or change an appointment. True trusts it (see docs/twilio.md).
    caller_id_is_proof: bool = False
    # Longest reply, in SMS segments, before texts get shorter or split.
    max_segments: int = Field(default=3, ge=1, le=10)
    # Phone number named in the HILFE answer; default: the first office's phone.
    help_phone: str | None = None


# -- rendering --------------------------------------------------------------------------------


# The SMS wording of a reply: `sms.<key>` (else the core's text), then `sms.<key>.short`.
SMS_TEXTS = TextVariants(NAME, shorter=(".short",), finish=lambda text: gsm_safe(text).strip())


def _options_block(buttons: list[Button], lang: str) -> str:
    lines = [f"{i}: {b.title}" for i, b in NumberedOptions().add(buttons)]
    n = len(buttons)
    if n <= 3:
        nums = [str(i) for i in range(1, n + 1)]
        last = f" {t('sms.options.or', lang)} {nums[-1]}" if n > 1 else ""
        choices = ", ".join(nums[:-1]) + last if n > 1 else nums[0]
        lines.append(t("sms.options.few", lang, choices=choices))
    else:
        lines.append(t("sms.options.many", lang, n=n))
    return gsm_safe("\n".join(lines))


def render(replies: list[Reply], max_segments: int = 3) -> tuple[list[str], list[Button]]:
    """SMS bodies for the replies and the buttons listed as numbered options in them."""
    if not replies:
        return [], []
    lang = replies[-1].language
    buttons = offered_buttons(replies)
    variants = [SMS_TEXTS.forms(r) for r in replies]
    texts = [v[0] for v in variants]
    # Never just one or two of many choices; the main menu may be left out altogether.
    counts = list(range(len(buttons), min(3, len(buttons)) - 1, -1))
    if buttons and all(b.intent in MENU_INTENTS and not b.args for b in buttons):
        counts.append(0)
    for level in range(2):
        if level:  # second try: the shortest form of every reply
            texts = [v[-1] for v in variants]
        for count in counts:
            listed = buttons[:count]
            body = _join(texts, _options_block(listed, lang) if listed else "")
            if segments(body) <= max_segments:
                return [body], listed
    # Unavoidable: split at line breaks into messages of at most `max_segments` each.
    listed = buttons
    body = _join(texts, _options_block(listed, lang) if listed else "")
    return _split(body, max_segments), listed


def _join(texts: list[str], options: str) -> str:
    return "\n".join(p for p in [*texts, options] if p)


def _split(body: str, max_segments: int) -> list[str]:
    messages: list[str] = []
    current = ""
    for line in body.split("\n"):
        for piece in _hard_wrap(line, max_segments):
            candidate = f"{current}\n{piece}" if current else piece
            if segments(candidate) <= max_segments:
                current = candidate
            else:
                messages.append(current)
                current = piece
    if current:
        messages.append(current)
    return [m for m in messages if m]


def _hard_wrap(line: str, max_segments: int) -> list[str]:
    """A single line too long for one message, cut between words."""
    if segments(line) <= max_segments:
        return [line]
    out, current = [], ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if segments(candidate) <= max_segments:
            current = candidate
        else:
            out.append(current)
            current = word
    return [*out, current] if current else out


def twiml(messages: list[str]) -> str:
    response = MessagingResponse()
    for body in messages:
        response.message(body)
    return str(response)


# -- inbound ----------------------------------------------------------------------------------


def keyword(body: str) -> tuple[str, str | None] | None:
    """("stop" | "start" | "help", language of the word or None) for a keyword message."""
    word = re.sub(r"[^\wäöüß]+", "", body.casefold())
    for kind, words in KEYWORDS.items():
        if word in words:
            return kind, KEYWORD_LANG.get(word)
    return None


class Sms(Plugin):
    """The SMS channel of one running app: its webhook, and SMS outside a request."""

    settings_model = SmsSettings
    settings: SmsSettings

    def _help_phone(self, ctx: Context) -> str:
        return self.settings.help_phone or next(
            (o.phone for o in ctx.config.offices if o.phone), "")

    async def handle(self, ctx: Context, form: Any) -> str:
        """The TwiML answer to one signed inbound SMS."""
        s = self.settings
        number = e164(form.get("From"), s.default_region)
        if number is None:
            log.info("SMS from a sender that is not a phone number ignored")
            return twiml([])
        key = f"options:{number_key(number)}"
        state = await ctx.get_state(NAME, key) or {}
        body = str(form.get("Body") or "")
        kw = keyword(body)
        if kw is not None:
            kind, word_lang = kw
            lang = word_lang or state.get("lang") or ctx.config.default_language
            if kind == "stop":
                await set_opt_out(ctx, number, True)
                return twiml([gsm_safe(t("sms.stop.done", lang))])
            if kind == "start":
                await set_opt_out(ctx, number, False)
                return twiml([gsm_safe(t("sms.start.done", lang))])
            return twiml([gsm_safe(t("sms.keyword_help", lang, phone=self._help_phone(ctx)))])
        if await opted_out(ctx, number):
            return twiml([])  # after STOP: silence until START, as carriers require
        if not body.strip() and str(form.get("NumMedia") or "0") != "0":
            lang = state.get("lang") or ctx.config.default_language
            return twiml([gsm_safe(t("sms.media_only", lang))])
        text = _current_options(ctx, state).chosen(body) or body
        replies = await converse(ctx, Incoming(
            channel=NAME, sender=number, text=text, verified_contact=number,
            metadata={"message_sid": form.get("MessageSid")}), NUMBER_ANSWERS)
        messages, listed = render(replies, s.max_segments)
        await _remember(ctx, number, listed,
                        replies[-1].language if replies else state.get("lang"))
        return twiml(messages)

    @hookimpl
    def register_routes(self, app: web.Application, ctx: Context) -> None:
        async def webhook(request: web.Request) -> web.Response:
            form = await signed_form(request, ctx, self.settings.auth_token_env)
            if form is None:
                return json_error(403, "missing or invalid X-Twilio-Signature")
            sid = form.get("MessageSid") or form.get("SmsSid")
            if not sid or len(str(sid)) > 64:
                return json_error(400, "MessageSid missing or invalid")
            if not await ctx.first_delivery(NAME, str(sid)):
                stored = await ctx.delivery_response(NAME, str(sid))
                return twiml_response(stored["twiml"] if stored else twiml([]))
            answer = await self.handle(ctx, form)
            await ctx.store_delivery_response(NAME, str(sid), {"twiml": answer})
            return twiml_response(answer)

        app.router.add_post(PATH, webhook)

    # -- outbound -------------------------------------------------------------------------------

    @hookimpl
    def deliver(self, ctx: Context, channel: str, recipient: str,
                replies: list[Reply]) -> Awaitable[bool] | None:
        if channel != NAME:
            return None
        return self.send(ctx, recipient, replies)

    async def send(self, ctx: Context, number: str, replies: list[Reply]) -> bool:
        """Send replies as SMS through the configured gateway; False if opted out or no
        gateway."""
        if await opted_out(ctx, number):
            log.info("SMS not sent: the recipient opted out (STOP)")
            return False
        messages, listed = render(replies, self.settings.max_segments)
        for body in messages:
            message_id = await ctx.call_first("send_sms", ctx=ctx, to=number, body=body)
            if message_id is None:
                log.warning("no SMS gateway plugin is enabled (plugins: twilio): SMS not sent")
                return False
        if listed:
            await _remember(ctx, number, listed, replies[-1].language)
        return True

    @hookimpl
    def message_catalogs(self) -> list[Path]:
        return sorted(Path(__file__).with_name("locales").glob("sms.*.po"))


async def _remember(ctx: Context, number: str, listed: list[Button], lang: str | None) -> None:
    await ctx.set_state(NAME, f"options:{number_key(number)}", {
        "options": [b.payload for b in listed], "lang": lang, "at": ctx.now().isoformat()})


def _current_options(ctx: Context, state: dict[str, Any]) -> NumberedOptions:
    """The numbered options of the last reply, unless the conversation has expired since."""
    at = state.get("at")
    idle = timedelta(hours=ctx.config.retention.conversation_idle_hours)
    if not at or ctx.now() - datetime.fromisoformat(at) > idle:
        return NumberedOptions()
    return NumberedOptions(list(state.get("options", [])))
