"""German (and English) phone line over Twilio Voice: `POST /webhooks/twilio/voice`.

Each webhook is signed (403 otherwise) and answered with TwiML: `<Say>` inside a
`<Gather input="speech dtmf" language="de-DE" hints="…">` whose hints are the catalogue's
service and office names. The caller talks to the same dialogue as every channel (sender =
caller number + CallSid, one conversation per call), spoken: one question at a time, at most
three options read out with a key each, dates and times as people say them, the reference
spelled with the DIN 5009 alphabet.

Keys and words that work at every step: `*` / "wiederholen" repeats, `0` / "Mitarbeiter"
puts the caller through to the office (`<Dial>`) while it is open and otherwise offers a call
back, `9` switches between German and English. Silence re-prompts twice, then offers staff.
Speech below `low_confidence` is confirmed before it is acted on. After a booking a mobile
caller gets the confirmation by SMS (`send_sms` hook, from the outbox); otherwise the reference
is read out twice. `amtsbote voice preview` renders a sample call to a WAV file (espeak-ng).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from babel.dates import format_date
from pydantic import BaseModel, ConfigDict, Field, model_validator
from twilio.twiml.voice_response import VoiceResponse

from assistant.plugin import (
    BABEL_LOCALE,
    Button,
    Incoming,
    Reply,
    has,
    hookimpl,
    json_error,
    normalize_spoken,
    t,
)
from channels.twilio_common import (
    chosen_option,
    converse,
    e164,
    gsm_safe,
    is_mobile,
    offered_buttons,
    opted_out,
    segments,
    signed_form,
)

if TYPE_CHECKING:
    from assistant.plugin import AppointmentView, Config, Context, Office

log = logging.getLogger(__name__)

NAME = "voice"
PATH = "/webhooks/twilio/voice"
STATUS_PATH = "/webhooks/twilio/voice/status"
LANG_CODE = {"de": "de-DE", "en": "en-GB"}
MAX_OPTIONS = 3

REPEAT_WORDS = {"wiederholen", "wiederholung", "nochmal", "noch mal", "noch einmal", "wie bitte",
                "bitte wiederholen", "repeat", "say again", "again", "pardon", "sorry"}
STAFF_WORDS = ("mitarbeiter", "sachbearbeiter", "vermittlung", "operator", "member of staff",
               "real person", "agent")
ENGLISH_WORDS = {"english", "englisch", "in english", "english please", "auf englisch"}
GERMAN_WORDS = {"deutsch", "german", "auf deutsch", "in german"}
YES_WORDS = {"ja", "jawohl", "genau", "richtig", "stimmt", "korrekt", "ja genau", "ja bitte",
             "yes", "yeah", "yep", "correct", "right", "yes please"}
NO_WORDS = {"nein", "falsch", "nee", "ne", "nicht richtig", "no", "nope", "wrong"}
# Core button titles with a spoken form `voice.option.<key>` ("Für nächste Woche …").
TITLED_OPTIONS = ("time.asap", "time.this_week", "time.next_week", "button.skip",
                  "button.other_time", "button.continue", "menu.info", "menu.hours",
                  "menu.video", "menu.human", "menu.other")
FILLER_WORDS = {"wie", "as", "in", "for", "bindestrich", "strich", "minus", "dash", "hyphen"}


class VoiceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auth_token_env: str = "TWILIO_AUTH_TOKEN"
    default_region: str = "DE"
    # Speech recognised with less confidence than this is read back for a yes/no first.
    low_confidence: float = Field(default=0.5, ge=0, le=1)
    # Seconds to wait for the caller to start speaking or press a key.
    timeout_seconds: int = Field(default=6, ge=1, le=60)
    # Twilio's `speechTimeout`: "auto" or seconds; a `speech_model` needs seconds.
    speech_timeout: str = "auto"
    speech_model: str | None = None
    # Twilio voices (e.g. "Google.de-DE-Standard-A", "Polly.Vicki"); empty: Twilio's default.
    voice_de: str | None = None
    voice_en: str | None = None
    # Office whose phone takes transferred calls; default: the first one open with a phone.
    transfer_office: str | None = None
    dial_timeout_seconds: int = Field(default=25, ge=5, le=120)
    # Silent turns re-prompted before staff is offered.
    max_silence: int = Field(default=2, ge=1, le=5)
    # Whether a caller whose number (caller ID) matches an appointment's phone may hear, move
    # or cancel it without saying the last name. Caller ID can be spoofed: off by default, the
    # number then only fills in the contact of a booking (docs/twilio.md).
    caller_id_is_proof: bool = False

    @model_validator(mode="after")
    def _speech(self) -> VoiceSettings:
        if self.speech_timeout != "auto" and not self.speech_timeout.isdigit():
            raise ValueError('speech_timeout must be "auto" or a whole number of seconds')
        if self.speech_model and self.speech_timeout == "auto":
            raise ValueError('Twilio needs speech_timeout in seconds when speech_model is set '
                             '(speechTimeout="auto" only works without one)')
        return self


@hookimpl
def plugin_settings(name: str) -> type[BaseModel] | None:
    return VoiceSettings if name == NAME else None


def _settings(ctx: Context) -> VoiceSettings:
    return ctx.settings(NAME) or VoiceSettings()


# -- speaking dates, times and codes ----------------------------------------------------------


def _clock(hour: int, minute: int, lang: str) -> str:
    """`halb zehn`, `Viertel nach neun`, `14 Uhr 30` / `half past nine`, `2:30 pm`."""
    if hour >= 13:
        key = "voice.clock.numeric_full" if minute == 0 else "voice.clock.numeric"
        return t(key, lang, hh=hour, h12=hour - 12, mm=f"{minute:02d}")
    words = t("voice.clock.hours", lang).split(";")
    h, nxt = words[hour % 12], words[(hour + 1) % 12]
    key = {0: "voice.clock.full", 30: "voice.clock.half", 15: "voice.clock.quarter_past",
           45: "voice.clock.quarter_to"}.get(minute, "voice.clock.minutes")
    return t(key, lang, h=h, next=nxt, m=minute)


def spoken_when(dt: datetime, lang: str) -> str:
    """`Dienstag, den 1. Dezember, um halb zehn` / `Tuesday 1 December at half past nine`."""
    locale = BABEL_LOCALE.get(lang, "de_DE")
    return t("voice.when", lang, weekday=format_date(dt, "EEEE", locale=locale), day=dt.day,
             month=format_date(dt, "MMMM", locale=locale), clock=_clock(dt.hour, dt.minute, lang))


# The core's `when()` format: "Dienstag, 24. November, 09:30 Uhr" / "Tuesday 24 November, 09:30".
_WHEN = {
    "de": re.compile(
        r"\b([A-ZÄÖÜ][a-zäöüß]+), (\d{1,2})\. ([A-ZÄÖÜ][a-zäöüß]+), (\d{2}):(\d{2}) Uhr"),
    "en": re.compile(r"\b([A-Z][a-z]+) (\d{1,2}) ([A-Z][a-z]+), (\d{2}):(\d{2})\b"),
}


def speak_times(text: str, lang: str) -> str:
    """Rewrite every date-time in the core's written format as it is spoken."""
    pattern = _WHEN.get(lang, _WHEN["de"])

    def spoken(m: re.Match[str]) -> str:
        return t("voice.when", lang, weekday=m.group(1), day=int(m.group(2)), month=m.group(3),
                 clock=_clock(int(m.group(4)), int(m.group(5)), lang))

    return pattern.sub(spoken, text)


def _alphabet(lang: str) -> dict[str, str]:
    pairs = (p.split("=", 1) for p in t("voice.spelling", lang).split(";"))
    return {char: word for char, word in pairs}


def spell(reference: str, lang: str) -> str:
    """`K7Q-M4P` -> `Kaufmann, Sieben, Quelle - Martha, Vier, Paula`."""
    table = _alphabet(lang)
    halves = reference.upper().split("-") if "-" in reference else [reference[:3], reference[3:]]
    return " – ".join(", ".join(table.get(c, c) for c in half) for half in halves)


def collapse_spelled(text: str, lang: str = "de") -> str:
    """A reference code the caller spelled ("Kaufmann sieben Quelle, M 4 P") as `K7Q-M4P`.

    Speech-to-text writes spelled codes as spelling words, single letters and digits; a run
    of them that makes a valid code is replaced by the code, so the dialogue sees it.
    """
    from assistant.plugin import references

    words: dict[str, str] = {}
    for alphabet in ("de", "en"):
        for char, word in _alphabet(alphabet).items():
            words[word.casefold()] = char
    tokens = re.findall(r"[\wäöüß]+", normalize_spoken(text, lang).casefold())
    run: list[tuple[int, str]] = []  # (token index, characters)
    for i, token in enumerate(tokens):
        if token in FILLER_WORDS and run:
            continue
        if token in words:
            char = words[token]
            if run and run[-1][1] == char and tokens[run[-1][0]] not in words:
                continue  # "K wie Kaufmann": the word repeats the letter
        elif len(token) == 1 or token.isdigit() or (
                re.fullmatch(r"[a-z0-9]{2,6}", token) and re.search(r"\d", token)):
            char = token.upper()
        else:
            run = []
            continue
        run.append((i, char))
        window, first = "", i
        for j, c in reversed(run):  # the last characters of the run, exactly a code long
            window, first = c + window, j
            if len(window) >= references.LENGTH:
                break
        code = references.normalize(window) if len(window) == references.LENGTH else None
        if code and references.find(code):
            return " ".join([*tokens[:first], references.display(code), *tokens[i + 1:]])
    return text


# -- the call ---------------------------------------------------------------------------------


@dataclass
class Option:
    payload: str
    label: str


@dataclass
class Turn:
    """What one webhook answers: sentences to say, options, and how the call goes on."""

    lang: str
    say: list[tuple[str, str]] = field(default_factory=list)  # (text, language)
    options: list[Option] = field(default_factory=list)
    hangup: bool = False
    dial: tuple[str, str] | None = None  # (E.164 number, office id)
    # False for a turn that only re-asks (repeat, silence, a yes/no check): the question to
    # repeat later stays the one before.
    fresh: bool = True

    def add(self, text: str, lang: str | None = None) -> None:
        if text:
            self.say.append((text, lang or self.lang))


def _option_label(button: Button, reply: Reply, lang: str, config: Config | None) -> str:
    payload = button.payload
    for intent, key in (("/book_appointment", "book"), ("/reschedule_appointment", "reschedule"),
                        ("/cancel_appointment", "cancel"), ("/check_appointment", "check")):
        if payload == intent:
            return t(f"voice.option.{key}", lang)
    for key in TITLED_OPTIONS:
        if button.title == t(key, lang) and has(f"voice.option.{key}", lang):
            return t(f"voice.option.{key}", lang)
    m = re.match(r"^/choose(\{.*\})$", payload)
    slots = reply.params.get("slots") or []
    if m and slots:
        try:
            index = int(json.loads(m.group(1)).get("slot", 0))
        except (ValueError, json.JSONDecodeError):
            index = 0
        if 1 <= index <= len(slots):
            slot = slots[index - 1]
            office = config.office(slot.get("office", "")) if config else None
            start = datetime.fromisoformat(slot["start"])
            label = spoken_when(start.astimezone(office.tz) if office else start, lang)
            if office is not None and slot.get("office") != slots[0].get("office"):
                label = t("voice.slot_at", lang, when=label, office=office.name.get(lang))
            return label
    return button.title


def _flat(value: Any, lang: str) -> Any:
    if isinstance(value, str) and "• " in value:
        items = [line.strip().lstrip("•").strip() for line in value.splitlines()]
        return ", ".join(i for i in items if i)
    if isinstance(value, str):
        return speak_times(value, lang)
    return value


def _clean(text: str, lang: str) -> str:
    """A chat text made speakable: no bullets, links, quotes or line breaks."""
    text = re.sub(r"https?://\S+", "", text)
    text = text.replace("•", "").replace("„", "").replace("“", "").replace('"', "")
    text = re.sub(r"(\d)\s*[–-]\s*(\d)", rf"\1 {t('voice.range', lang)} \2", text)
    text = re.sub(r"\s*[–—]\s*", ", ", text).replace("…", ".")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    out = " ".join(line if line[-1] in ".?!:," else f"{line}." for line in lines)
    return speak_times(re.sub(r"\s{2,}", " ", out), lang)


def speak_reply(reply: Reply, mobile: bool) -> list[str]:
    """The spoken form of one reply: `voice.<key>` from the catalog or the cleaned text."""
    lang = reply.language
    params = {k: _flat(v, lang) for k, v in reply.params.items()}
    reference = reply.data.get("reference") or reply.params.get("reference")
    if reference:
        params["spelled"] = spell(str(reference), lang)
    key = f"voice.{reply.key}"
    text = t(key, lang, **params) if reply.key and has(key, lang) else _clean(reply.text, lang)
    out = [text]
    if reply.key == "book.done":
        out.append(t("voice.book.done.sms" if mobile else "voice.book.done.read", lang,
                     **params))
    elif reply.key in {"manage.found", "reschedule.done"} and reference and not mobile:
        out.append(t("voice.reference", lang, spelled=params["spelled"]))
    return out


def render(replies: list[Reply], mobile: bool, lang: str, config: Config | None = None) -> Turn:
    """Replies as one spoken turn with at most three numbered options."""
    turn = Turn(lang=replies[-1].language if replies else lang)
    for reply in replies:
        for text in speak_reply(reply, mobile):
            turn.add(text, reply.language)
    buttons = offered_buttons(replies)
    owner = next((r for r in reversed(replies) if r.buttons), None)
    for i, button in enumerate(buttons[:MAX_OPTIONS], 1):
        assert owner is not None
        label = _option_label(button, owner, turn.lang, config)
        turn.options.append(Option(button.payload, label))
        key = "voice.option.first" if i == 1 else "voice.option.next"
        turn.add(t(key, turn.lang, label=label, digit=i))
    if any(b.payload.startswith("/choose") for b in buttons):
        turn.add(t("voice.options.other_time", turn.lang))
    elif len(buttons) > MAX_OPTIONS:
        turn.add(t("voice.options.more", turn.lang))
    return turn


# -- TwiML ------------------------------------------------------------------------------------


class Line:
    """Turns `Turn`s into TwiML with this office's settings."""

    def __init__(self, config: Config, s: VoiceSettings) -> None:
        self.config = config
        self.s = s
        self.hints = {lang: ", ".join(_hints(config, lang)) for lang in LANG_CODE}

    def url(self, turn_no: int, event: str | None = None) -> str:
        query = f"?t={turn_no}" + (f"&ev={event}" if event else "")
        return self.config.server.base_url + PATH + query

    def _say(self, parent: Any, text: str, lang: str) -> None:
        voice = self.s.voice_en if lang == "en" else self.s.voice_de
        parent.say(text, language=LANG_CODE.get(lang, "de-DE"), **({"voice": voice} if voice
                                                                   else {}))

    def _says(self, parent: Any, turn: Turn) -> None:
        """One `<Say>` per run of sentences in the same language."""
        runs: list[tuple[str, str]] = []
        for text, lang in turn.say:
            if runs and runs[-1][1] == lang:
                runs[-1] = (f"{runs[-1][0]} {text}", lang)
            else:
                runs.append((text, lang))
        for text, lang in runs:
            self._say(parent, text, lang)

    def twiml(self, turn: Turn, next_no: int) -> str:
        response = VoiceResponse()
        if turn.hangup:
            self._says(response, turn)
            response.hangup()
            return str(response)
        if turn.dial is not None:
            self._says(response, turn)
            number, _ = turn.dial
            response.dial(number, action=self.url(next_no, "dial"), method="POST",
                          timeout=self.s.dial_timeout_seconds)
            return str(response)
        action = self.url(next_no)
        gather = response.gather(
            input="speech dtmf", language=LANG_CODE.get(turn.lang, "de-DE"),
            hints=self.hints.get(turn.lang, self.hints["de"]),
            speech_timeout=self.s.speech_timeout, timeout=self.s.timeout_seconds, num_digits=1,
            action=action, method="POST", action_on_empty_result=True,
            **({"speech_model": self.s.speech_model} if self.s.speech_model else {}))
        self._says(gather, turn)
        response.redirect(action, method="POST")  # no input and no webhook: ask again
        return str(response)


def _hints(config: Config, lang: str) -> list[str]:
    """Service and office names and aliases, and the words of the line, for Twilio's speech
    recognition (at most 500 phrases of at most 100 characters)."""
    seen: dict[str, None] = {}
    for item in [*config.services, *config.offices]:
        for phrase in (item.name.get(lang), *item.aliases):
            phrase = phrase.strip()[:100]
            if phrase and "," not in phrase:
                seen.setdefault(phrase, None)
    for phrase in (*t("voice.hints", lang).split(";"), *_alphabet(lang).values()):
        seen.setdefault(phrase.strip(), None)
    return list(seen)[:500]


def _open_now(office: Office, now: datetime) -> bool:
    local = now.astimezone(office.tz)
    if office.closed_on(local.date()):
        return False
    return any(r.start <= local.time() < r.end for r in office.hours_on(local.date()))


# -- one webhook ------------------------------------------------------------------------------


class Call:
    """The state of one phone call between webhooks (kept with `ctx.set_state`)."""

    def __init__(self, ctx: Context, s: VoiceSettings, form: Any, state: dict[str, Any]) -> None:
        self.ctx, self.s, self.form = ctx, s, form
        self.sid = str(form.get("CallSid"))
        self.number = e164(form.get("From"), s.default_region)
        self.sender = f"{self.number or 'anonymous'}/{self.sid}"
        self.mobile = is_mobile(self.number)
        self.st = state
        self.st.setdefault("lang", ctx.config.default_language)
        self.st.setdefault("turn", 0)

    @property
    def lang(self) -> str:
        return str(self.st["lang"])

    async def dialogue(self, text: str) -> Turn:
        replies = await converse(self.ctx, Incoming(
            channel=NAME, sender=self.sender, text=text, language=self.lang,
            verified_contact=self.number,
            metadata={"call_sid": self.sid, "confidence": self.form.get("Confidence")}))
        if replies:
            self.st["lang"] = replies[-1].language
        if any(r.key == "human" for r in replies):
            return await self.staff()
        turn = render(replies, self.mobile, self.lang, self.ctx.config)
        for reply in replies:
            reference = reply.data.get("reference")
            if reference:
                self.st["reference"] = str(reference)
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
        self.st["options"] = [o.payload for o in turn.options]
        self.st["prompt"] = [list(p) for p in turn.say]

    def repeat(self, before: str | None = None) -> Turn:
        turn = Turn(lang=self.lang, fresh=False)
        if before:
            turn.add(before)
        prompt = self.st.get("prompt") or []
        if self.st.get("reference"):
            spelled = spell(_display(self.st["reference"]), self.lang)
            if not any(spelled in text for text, _ in prompt):
                turn.add(t("voice.reference", self.lang, spelled=spelled))
        for text, lang in prompt:
            turn.add(text, lang)
        turn.options = [Option(p, "") for p in self.st.get("options", [])]
        return turn

    # -- staff --------------------------------------------------------------------------------
    def _office(self) -> Office | None:
        offices = self.ctx.config.offices
        if self.s.transfer_office:
            return self.ctx.config.office(self.s.transfer_office)
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
        self.st["mode"] = "callback"
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
        form = self.form
        if event == "dial":
            if form.get("DialCallStatus") in {"completed", "answered"}:
                return Turn(lang=self.lang, hangup=True)
            turn = Turn(lang=self.lang)
            turn.add(t("voice.transfer.failed", self.lang))
            return self.offer_callback(turn)
        if self.st["turn"] == 0:
            return await self.welcome()
        digits = str(form.get("Digits") or "").strip()
        speech = str(form.get("SpeechResult") or "").strip()
        mode = self.st.pop("mode", None)  # a pending yes/no or call-back question
        if mode != "confirm":
            self.st.pop("pending", None)
        if not digits and not speech:
            return self.silence()
        self.st["silence"] = 0
        said = " ".join(re.findall(r"[\wäöüß]+", speech.casefold()))
        if mode == "callback":
            if digits == "1" or said in YES_WORDS:
                return await self.record_callback()
            if digits == "2" or said in NO_WORDS:
                turn = Turn(lang=self.lang)
                turn.add(t("voice.callback.declined", self.lang))
                turn.add(t("voice.anything_else", self.lang))
                return turn
        if mode == "confirm":
            pending = self.st.pop("pending", "")
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
            self.st["lang"] = target
            return await self.dialogue(f'/set_language{{"language": "{target}"}}')
        if digits:
            payload = chosen_option(digits, self.st.get("options", []))
            if payload is None:
                return self.repeat(t("voice.invalid_key", self.lang))
            return await self.dialogue(payload)
        confidence = _confidence(form.get("Confidence"))
        if confidence < self.s.low_confidence:
            self.st["mode"], self.st["pending"] = "confirm", speech
            turn = Turn(lang=self.lang, fresh=False)
            turn.add(t("voice.confirm.ask", self.lang, text=speech))
            return turn
        return await self.dialogue(self.prepare(speech))

    def prepare(self, speech: str) -> str:
        """Speech as the dialogue should see it: a spoken option number becomes that option's
        payload, a spelled reference code becomes the code."""
        speech = speech.strip().rstrip(".!")  # transcripts end sentences with a full stop
        spoken = normalize_spoken(speech, self.lang)
        payload = chosen_option(spoken.strip(" ."), self.st.get("options", []))
        return payload or collapse_spelled(speech)

    async def welcome(self) -> Turn:
        turn = await self.dialogue("/start")
        turn.add(t("voice.staff_hint", self.lang))
        other = "en" if self.lang == "de" else "de"
        turn.add(t("voice.other_language", self.lang), other)
        return turn

    def silence(self) -> Turn:
        count = self.st["silence"] = int(self.st.get("silence", 0)) + 1
        if count <= self.s.max_silence:
            return self.repeat(t("voice.silence", self.lang))
        if count == self.s.max_silence + 1:
            turn = Turn(lang=self.lang, fresh=False)
            turn.add(t("voice.silence.offer_staff", self.lang))
            turn.options = [Option(p, "") for p in self.st.get("options", [])]
            return turn
        return Turn(lang=self.lang, say=[(t("voice.silence.goodbye", self.lang), self.lang)],
                    hangup=True)


def _confidence(raw: Any) -> float:
    try:
        return float(raw) if raw not in (None, "") else 1.0
    except (TypeError, ValueError):
        return 0.0


def _display(reference: str) -> str:
    return reference if "-" in reference else f"{reference[:3]}-{reference[3:]}"


# -- routes -----------------------------------------------------------------------------------


def _xml(text: str) -> web.Response:
    return web.Response(text=text, content_type="application/xml")


@hookimpl
def register_routes(app: web.Application, ctx: Context) -> None:
    s = _settings(ctx)
    if s.transfer_office and ctx.config.office(s.transfer_office) is None:
        from assistant.plugin import ConfigError

        raise ConfigError(f"{ctx.config.path}: channels.voice.transfer_office: unknown office "
                          f"{s.transfer_office!r}")
    line = Line(ctx.config, s)

    async def webhook(request: web.Request) -> web.Response:
        form = await signed_form(request, ctx, s.auth_token_env)
        if form is None:
            return json_error(403, "missing or invalid X-Twilio-Signature")
        sid = form.get("CallSid")
        if not sid or len(str(sid)) > 64:
            return json_error(400, "CallSid missing")
        try:
            turn_no = int(request.query.get("t", "0"))
        except ValueError:
            return json_error(400, "t must be a number")
        event = request.query.get("ev")
        state = await ctx.get_state(NAME, str(sid)) or {}
        delivery = f"{sid}:{turn_no}:{event or ''}"
        if not await ctx.first_delivery(NAME, delivery):
            stored = await ctx.delivery_response(NAME, delivery)
            if stored:
                return _xml(stored["twiml"])
            call = Call(ctx, s, form, state)  # still being answered: ask the question again
            return _xml(line.twiml(call.repeat(), int(state.get("turn", 0)) + 1))
        call = Call(ctx, s, form, state)
        turn = await call.answer(event)
        call.st["turn"] = next_no = max(turn_no, int(call.st["turn"])) + 1
        if turn.fresh and not turn.hangup and turn.dial is None:
            call.remember(turn)
        answer = line.twiml(turn, next_no)
        await ctx.set_state(NAME, str(sid), {} if turn.hangup else call.st)
        await ctx.store_delivery_response(NAME, delivery, {"twiml": answer})
        return _xml(answer)

    async def status(request: web.Request) -> web.Response:
        """Twilio's call status callback: forget the call's state once it has ended."""
        form = await signed_form(request, ctx, s.auth_token_env)
        if form is None:
            return json_error(403, "missing or invalid X-Twilio-Signature")
        if form.get("CallSid") and form.get("CallStatus") in {
                "completed", "busy", "failed", "no-answer", "canceled"}:
            await ctx.set_state(NAME, str(form["CallSid"]), {})
        return web.Response(status=204)

    app.router.add_post(PATH, webhook)
    app.router.add_post(STATUS_PATH, status)


# -- confirmations and reminders by SMS -------------------------------------------------------


def _caller(appointment: AppointmentView) -> str | None:
    sender = (appointment.sender or "").split("/", 1)[0]
    return appointment.phone or e164(sender)


@hookimpl
def notify(ctx: Context, event: str, appointment: AppointmentView, extra: dict[str, Any]):  # type: ignore[no-untyped-def]
    """After a booking by phone, a mobile caller gets the confirmation by SMS."""
    if event != "booked" or appointment.channel != NAME:
        return None
    number = _caller(appointment)
    if not is_mobile(number):
        return None
    assert number is not None
    return _confirm_by_sms(ctx, appointment, number)


async def _confirm_by_sms(ctx: Context, a: AppointmentView, number: str) -> None:
    from assistant.plugin import when

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
    body = gsm_safe(t("voice.sms.booked", lang, **params))
    if segments(body) > 3:
        body = gsm_safe(t("voice.sms.booked.short", lang, **params))
    if await ctx.call_first("send_sms", ctx=ctx, to=number, body=body) is None:
        log.warning("booking confirmation by SMS not sent: no SMS gateway plugin enabled")


@hookimpl
def deliver(ctx: Context, channel: str, recipient: str, replies: list[Reply]):  # type: ignore[no-untyped-def]
    """Reminders for appointments booked by phone go out by SMS to mobile callers."""
    if channel != NAME:
        return None
    return _deliver(ctx, recipient, replies)


async def _deliver(ctx: Context, recipient: str, replies: list[Reply]) -> bool:
    number = e164(recipient.split("/", 1)[0])
    if number is None or not is_mobile(number) or await opted_out(ctx, number):
        return False
    parts = []
    for r in replies:
        key = f"sms.{r.key}"
        parts.append(t(key, r.language, **r.params) if r.key and has(key, r.language) else r.text)
    body = gsm_safe("\n".join(parts))
    return await ctx.call_first("send_sms", ctx=ctx, to=number, body=body) is not None


# -- `amtsbote voice preview` -----------------------------------------------------------------


@hookimpl
def register_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("voice", help="the phone line (Twilio Voice)")
    sub = parser.add_subparsers(dest="voice_command", required=True)
    preview = sub.add_parser("preview", help="render a sample call's prompts to a WAV file "
                                             "with espeak-ng, to hear how the line sounds")
    preview.add_argument("--out", default="voice-preview.wav", help="WAV file to write")
    preview.add_argument("--lang", choices=["de", "en"], default="de")
    preview.add_argument("--twiml", action="store_true", help="also print the TwiML")
    preview.set_defaults(func=cmd_preview)


def sample_call(config: Config, lang: str, now: datetime) -> list[Turn]:
    """The prompts of a typical booking call, rendered exactly as the line renders them."""
    from assistant.plugin import when

    office, service = config.offices[0], config.services[0]
    tz = office.tz
    day = (now.astimezone(tz) + timedelta(days=1)).replace(hour=9, minute=30, second=0,
                                                           microsecond=0)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    starts = [day, day.replace(hour=10, minute=0), day.replace(hour=14, minute=15)]
    menu = [Button(t(k, lang), p) for k, p in (
        ("menu.book", "/book_appointment"), ("menu.reschedule", "/reschedule_appointment"),
        ("menu.cancel", "/cancel_appointment"), ("menu.check", "/check_appointment"))]
    ref = "K7Q-M4P"

    def reply(key: str, buttons: list[Button] | None = None, data: dict[str, Any] | None = None,
              **params: Any) -> Reply:
        return Reply(text=t(key, lang, **params), buttons=tuple(buttons or ()), key=key,
                     params=params, data=data or {}, language=lang)

    slots = [{"start": s.isoformat(), "office": office.id} for s in starts]
    yes_no = [Button(t("button.yes", lang), "/affirm"), Button(t("button.no", lang), "/deny")]
    common = {"service": service.name.get(lang), "office": office.name.get(lang)}
    turns = [
        render([reply("greet", menu)], True, lang),
        render([reply("book.ask_time", [Button(t("time.asap", lang), "/inform")], **common)],
               True, lang),
        render([reply("slot.offer", [Button(str(i), f'/choose{{"slot": {i}}}')
                                     for i in range(1, 4)], listing="", slots=slots,
                      office=office.name.get(lang))], True, lang, config),
        render([reply("book.ask_name")], True, lang),
        render([reply("book.summary", yes_no, when=when(starts[0], lang), name="Anna Schmidt",
                      contact="", mode=t("mode.in_person", lang), **common)], True, lang),
        render([reply("book.done", data={"reference": ref}, reference=ref,
                      when=when(starts[0], lang), address=office.address.one_line(),
                      documents="\n".join(f"• {d}" for d in service.documents[lang]),
                      fee=service.fee.get(lang), **common),
                reply("book.keep_reference", reference=ref)], False, lang),
    ]
    turns[0].add(t("voice.staff_hint", lang))
    turns[0].add(t("voice.other_language", lang), "en" if lang == "de" else "de")
    return turns


def cmd_preview(args: argparse.Namespace) -> int:
    import asyncio

    from assistant.plugin import command_context, load_config

    config = load_config(args.config)

    async def now() -> datetime:
        async with command_context(config) as ctx:
            return ctx.now()

    turns = sample_call(config, args.lang, asyncio.run(now()).astimezone(config.offices[0].tz))
    text = "\n\n".join(" ".join(s for s, _ in turn.say) for turn in turns)
    print(text)
    if args.twiml:
        line = Line(config, VoiceSettings())
        print("\n" + line.twiml(turns[0], 1))
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        print("espeak-ng is not installed: apt-get install espeak-ng (Debian/Ubuntu)")
        return 1
    voice = "de" if args.lang == "de" else "en-gb"
    subprocess.run([espeak, "-v", voice, "-s", "150", "-w", args.out, text.replace("\n\n", ". ")],
                   check=True)
    print(f"\nwrote {args.out}")
    return 0


@hookimpl
def message_catalogs() -> list[Path]:
    """Its texts, and the SMS channel's short forms for reminders sent by SMS."""
    locales = Path(__file__).with_name("locales")
    return sorted(p for name in ("voice", "sms") for p in locales.glob(f"{name}.*.po"))
