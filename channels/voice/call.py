"""One phone call between webhooks: what the line remembers of it (`CallState`) and how it
answers a webhook (`Call`): the keys and words that work at every step (repeat, staff,
language), its own yes/no questions (speech heard with low confidence, the offer to call
back), silence, and everything else handed to the dialogue."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from assistant.plugin import (
    Incoming,
    NumberedOptions,
    converse,
    e164,
    is_mobile,
    normalize_spoken,
    opted_out,
    reference_of,
    t,
)

from .settings import NAME, VoiceSettings
from .speech import spell
from .turns import Option, Turn, render

if TYPE_CHECKING:
    from assistant.plugin import Context, Office

log = logging.getLogger(__name__)

REPEAT_WORDS = {"wiederholen", "wiederholung", "nochmal", "noch mal", "noch einmal", "wie bitte",
                "bitte wiederholen", "repeat", "say again", "again", "pardon", "sorry"}
STAFF_WORDS = ("mitarbeiter", "sachbearbeiter", "vermittlung", "operator", "member of staff",
               "real person", "agent")
ENGLISH_WORDS = {"english", "englisch", "in english", "english please", "auf englisch"}
GERMAN_WORDS = {"deutsch", "german", "auf deutsch", "in german"}
YES_WORDS = {"ja", "jawohl", "genau", "richtig", "stimmt", "korrekt", "ja genau", "ja bitte",
             "yes", "yeah", "yep", "correct", "right", "yes please"}
NO_WORDS = {"nein", "falsch", "nee", "ne", "nicht richtig", "no", "nope", "wrong"}
# Questions the caller's number answers at once (see `converse`).
NUMBER_ANSWERS = {"book.ask_contact"}


@dataclass
class CallState:
    """What the line keeps of one call between webhooks (stored with `ctx.set_state`)."""

    lang: str
    turn: int = 0  # the number of the last webhook answered
    silence: int = 0  # silent turns in a row
    # The line's own yes/no question, if one is pending: "confirm" (speech heard with low
    # confidence, kept in `pending` until the caller says yes) or "callback" (a call back?).
    question: str | None = None
    pending: str | None = None
    options: list[str] = field(default_factory=list)  # payloads of the keys last read out
    prompt: list[tuple[str, str]] = field(default_factory=list)  # (text, language) last said
    reference: str | None = None  # the reference code last given, repeated spelled

    @classmethod
    def load(cls, stored: dict[str, Any], default_language: str) -> CallState:
        return cls(lang=str(stored.get("lang") or default_language),
                   turn=int(stored.get("turn", 0)), silence=int(stored.get("silence", 0)),
                   question=stored.get("mode"), pending=stored.get("pending"),
                   options=list(stored.get("options", [])),
                   prompt=[(str(text), str(lang)) for text, lang in stored.get("prompt", [])],
                   reference=stored.get("reference"))

    def dump(self) -> dict[str, Any]:
        out: dict[str, Any] = {"lang": self.lang, "turn": self.turn, "silence": self.silence,
                               "options": self.options,
                               "prompt": [list(p) for p in self.prompt]}
        for key, value in (("mode", self.question), ("pending", self.pending),
                           ("reference", self.reference)):
            if value is not None:
                out[key] = value
        return out


class Call:
    """Answers one webhook of a call, reading and updating its `CallState`."""

    def __init__(self, ctx: Context, settings: VoiceSettings, form: Any,
                 state: CallState) -> None:
        self.ctx, self.settings, self.form = ctx, settings, form
        self.sid = str(form.get("CallSid"))
        self.number = e164(form.get("From"), settings.default_region)
        self.sender = f"{self.number or 'anonymous'}/{self.sid}"
        self.mobile = is_mobile(self.number)
        self.state = state

    @property
    def lang(self) -> str:
        return self.state.lang

    async def dialogue(self, text: str) -> Turn:
        replies = await converse(self.ctx, Incoming(
            channel=NAME, sender=self.sender, text=text, language=self.lang,
            verified_contact=self.number,
            metadata={"call_sid": self.sid, "confidence": self.form.get("Confidence")}),
            NUMBER_ANSWERS)
        if replies:
            self.state.lang = replies[-1].language
        if any(r.key == "human" for r in replies):
            return await self.staff()
        turn = render(replies, self.mobile, self.lang, self.ctx.config)
        for reply in replies:
            if reply.data.get("reference"):
                self.state.reference = reference_of(reply)
            if reply.data.get("url"):
                sent = await self._send_link(str(reply.data["url"]))
                turn.add(t("voice.link_sms" if sent else "voice.link_none", self.lang))
        if any(r.key == "goodbye" for r in replies):
            turn.hangup = True
        return turn

    async def _send_link(self, url: str) -> bool:
        """Text a link (video call) to a mobile caller; False if that is not possible."""
        if not self.mobile or self.number is None or await opted_out(self.ctx, self.number):
            return False
        try:
            sent = await self.ctx.call_first("send_sms", ctx=self.ctx, to=self.number, body=url)
        except Exception as exc:
            # Only the kind of error: a gateway's message names the caller's number.
            log.warning("could not text the link to the caller (%s)", type(exc).__name__)
            return False
        return sent is not None

    def remember(self, turn: Turn) -> None:
        self.state.options = [o.payload for o in turn.options]
        self.state.prompt = list(turn.say)

    def repeat(self, before: str | None = None) -> Turn:
        turn = Turn(lang=self.lang, fresh=False)
        if before:
            turn.add(before)
        prompt = self.state.prompt
        if self.state.reference:
            spelled = spell(self.state.reference, self.lang)
            if not any(spelled in text for text, _ in prompt):
                turn.add(t("voice.reference", self.lang, spelled=spelled))
        for text, lang in prompt:
            turn.add(text, lang)
        turn.options = [Option(p, "") for p in self.state.options]
        return turn

    # -- staff --------------------------------------------------------------------------------
    def _office(self) -> Office | None:
        offices = self.ctx.config.offices
        if self.settings.transfer_office:
            return self.ctx.config.office(self.settings.transfer_office)
        now = self.ctx.now()
        with_phone = [o for o in offices if o.phone and e164(o.phone)]
        return next((o for o in with_phone if _open_now(o, now)), with_phone[0] if with_phone
                    else None)

    async def staff(self) -> Turn:
        office = self._office()
        turn = Turn(lang=self.lang)
        if office is not None and office.phone and _open_now(office, self.ctx.now()):
            turn.add(t("voice.transfer.connecting", self.lang, office=office.name.get(self.lang)))
            turn.dial = (e164(office.phone) or office.phone, office.id)
            return turn
        return self.offer_callback(turn)

    def offer_callback(self, turn: Turn) -> Turn:
        turn.fresh = False
        if self.number is None:
            turn.add(t("voice.callback.no_number", self.lang))
            turn.add(t("voice.anything_else", self.lang))
            return turn
        self.state.question = "callback"
        turn.add(t("voice.callback.offer", self.lang))
        return turn

    async def record_callback(self) -> Turn:
        from assistant.plugin import Origin, escalate

        office = self._office()
        await escalate.request_staff(
            self.ctx, Origin(channel=NAME, sender=self.sender, language=self.lang),
            kind="callback", office_id=office.id if office else None, service_id=None,
            callback_number=self.number,
            notice=t("voice.staff.callback", "de", number=self.number))
        turn = Turn(lang=self.lang)
        turn.add(t("voice.callback.done", self.lang))
        turn.add(t("voice.anything_else", self.lang))
        return turn

    # -- the turn -----------------------------------------------------------------------------
    async def answer(self, event: str | None) -> Turn:
        form, state = self.form, self.state
        if event == "dial":
            if form.get("DialCallStatus") in {"completed", "answered"}:
                return Turn(lang=self.lang, hangup=True)
            turn = Turn(lang=self.lang)
            turn.add(t("voice.transfer.failed", self.lang))
            return self.offer_callback(turn)
        if state.turn == 0:
            return await self.welcome()
        digits = str(form.get("Digits") or "").strip()
        speech = str(form.get("SpeechResult") or "").strip()
        question, state.question = state.question, None  # a pending yes/no or call-back
        if question != "confirm":
            state.pending = None
        if not digits and not speech:
            return self.silence()
        state.silence = 0
        said = " ".join(re.findall(r"[\wäöüß]+", speech.casefold()))
        if question == "callback":
            if digits == "1" or said in YES_WORDS:
                return await self.record_callback()
            if digits == "2" or said in NO_WORDS:
                turn = Turn(lang=self.lang)
                turn.add(t("voice.callback.declined", self.lang))
                turn.add(t("voice.anything_else", self.lang))
                return turn
        if question == "confirm":
            pending, state.pending = state.pending or "", None
            if digits == "1" or said in YES_WORDS:
                return await self.dialogue(self.prepare(pending))
            if digits == "2" or said in NO_WORDS:
                return self.repeat(t("voice.confirm.again", self.lang))
        if digits == "*" or digits == "#" or said in REPEAT_WORDS:
            return self.repeat()
        if digits == "0" or any(w in said for w in STAFF_WORDS):
            return await self.staff()
        if digits == "9" or said in ENGLISH_WORDS | GERMAN_WORDS:
            target = ("en" if self.lang == "de" else "de") if digits == "9" else (
                "en" if said in ENGLISH_WORDS else "de")
            state.lang = target
            return await self.dialogue(f'/set_language{{"language": "{target}"}}')
        if digits:
            payload = NumberedOptions(state.options).chosen(digits)
            if payload is None:
                return self.repeat(t("voice.invalid_key", self.lang))
            return await self.dialogue(payload)
        confidence = _confidence(form.get("Confidence"))
        if confidence < self.settings.low_confidence:
            state.question, state.pending = "confirm", speech
            turn = Turn(lang=self.lang, fresh=False)
            turn.add(t("voice.confirm.ask", self.lang, text=speech))
            return turn
        return await self.dialogue(self.prepare(speech))

    def prepare(self, speech: str) -> str:
        """Speech as the dialogue should see it: a spoken option number becomes that option's
        payload, a spelled reference code becomes the code."""
        speech = speech.strip().rstrip(".!")  # transcripts end sentences with a full stop
        spoken = normalize_spoken(speech, self.lang)
        payload = NumberedOptions(self.state.options).chosen(spoken.strip(" ."))
        return payload or speech  # a spelled code: the plugin's `read_incoming`

    async def welcome(self) -> Turn:
        turn = await self.dialogue("/start")
        turn.add(t("voice.staff_hint", self.lang))
        other = "en" if self.lang == "de" else "de"
        turn.add(t("voice.other_language", self.lang), other)
        return turn

    def silence(self) -> Turn:
        count = self.state.silence = self.state.silence + 1
        if count <= self.settings.max_silence:
            return self.repeat(t("voice.silence", self.lang))
        if count == self.settings.max_silence + 1:
            turn = Turn(lang=self.lang, fresh=False)
            turn.add(t("voice.silence.offer_staff", self.lang))
            turn.options = [Option(p, "") for p in self.state.options]
            return turn
        return Turn(lang=self.lang, say=[(t("voice.silence.goodbye", self.lang), self.lang)],
                    hangup=True)


def _open_now(office: Office, now: datetime) -> bool:
    local = now.astimezone(office.tz)
    if office.closed_on(local.date()):
        return False
    return any(r.start <= local.time() < r.end for r in office.hours_on(local.date()))


def _confidence(raw: Any) -> float:
    try:
        return float(raw) if raw not in (None, "") else 1.0
    except (TypeError, ValueError):
        return 0.0
