"""The dialogue: deterministic flows driven by NLU results and button payloads.

Flows: book, reschedule, cancel, check, video; side answers: service info, opening hours,
human, help, greet/goodbye/thanks. One message may fill several slots, corrections and flow
switches work at any step, and `zurück`, `abbrechen`, `neu starten` work everywhere. All
texts come from the message catalogs (`assistant.i18n`).
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant import metrics
from assistant.booking import availability, cancel, check, escalate, references, reschedule
from assistant.booking import book as booking
from assistant.booking.appointments import EMAIL, normalize_phone
from assistant.booking.slots import Slot, holiday_name
from assistant.dialogue import answers
from assistant.dialogue.state import conversation
from assistant.dialogue.understanding import (
    FLOW_INTENTS,
    BadPayload,
    Understanding,
    keyword_command,
    number_choice,
    parse_payload,
)
from assistant.i18n import day as i18n_day
from assistant.i18n import t, when, when_short
from assistant.messages import Button, Incoming, Reply
from assistant.nlu.client import NLUUnavailable
from assistant.nlu.language import detect_language
from assistant.nlu.spoken import normalize_spoken
from assistant.nlu.timeparse import resolve as resolve_time
from assistant.ratelimit import RateLimiter
from assistant.views import AppointmentView

if TYPE_CHECKING:
    from assistant.config import Office, Service
    from assistant.context import Context

log = logging.getLogger(__name__)

FLOW_KEYS = ("flow", "step", "mode", "service", "office", "start", "end", "offered", "chosen",
             "hold", "name", "contact", "contact_asked", "reference", "proof", "appointment_id",
             "clarify", "flow_started", "turns", "tries", "reference_tried")
SIDE_INTENTS = {"ask_service_info", "ask_opening_hours", "request_human", "help"}
# What the citizen told us, kept across flows: a booking after a video request keeps the
# service, a reschedule after a check keeps the reference (`facts` in the state).
FACT_KEYS = ("service", "office", "start", "end", "name", "contact", "reference", "proof")
# Replies that mean "I did not understand"; two in a row offer a way out.
MISUNDERSTOOD = {"fallback", "fallback.in_flow", "reask.not_understood", "name.invalid",
                 "contact.invalid", "slot.pick_one", "confirm.yes_or_no", "reference.invalid",
                 "clarify", "reask.proof"}
MAX_HISTORY = 12


@dataclass
class Talk:
    """One turn: the message, the conversation state and the replies being built."""

    ctx: Context
    msg: Incoming
    st: dict[str, Any]
    now: datetime
    replies: list[Reply] = field(default_factory=list)

    @property
    def lang(self) -> str:
        return self.st.get("lang", "de")

    def say(self, key: str, buttons: list[Button] | None = None,
            data: dict[str, Any] | None = None, **params: Any) -> None:
        self.replies.append(Reply(text=t(key, self.lang, **params), buttons=tuple(buttons or ()),
                                  key=key, params=params, data=data or {}, language=self.lang))

    def button(self, key: str, payload: str, **params: Any) -> Button:
        return Button(t(key, self.lang, **params), payload)

    def origin(self) -> booking.Origin:
        started = self.st.get("flow_started")
        seconds = (int((self.now - datetime.fromisoformat(started)).total_seconds())
                   if started else None)
        return booking.Origin(channel=self.msg.channel, sender=self.msg.sender, language=self.lang,
                              turns=self.st.get("turns"), seconds=seconds)


class Dialogue:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.limiter = RateLimiter(ctx.config.server.rate_limit_per_minute)

    # -- entry point ---------------------------------------------------------------------------
    async def handle(self, msg: Incoming) -> list[Reply]:
        """Answer one citizen message; never raises to the channel, never loses the state."""
        metrics.MESSAGES.labels(msg.channel).inc()
        if not self.limiter.admit(msg):  # per sender; notes the requester (client, caller)
            metrics.RATE_LIMITED.labels(msg.channel).inc()
            lang = msg.language if msg.language in ("de", "en") else "de"
            return [Reply(text=t("error.rate_limited", lang), key="error.rate_limited",
                          language=lang)]
        with metrics.LATENCY.labels(msg.channel).time():
            return await self._handle(msg)

    async def _handle(self, msg: Incoming) -> list[Reply]:
        ctx = self.ctx
        now = ctx.now()
        async with conversation(ctx.db, msg.channel, msg.sender, now) as turn:
            st = turn.state
            before = copy.deepcopy(st)
            self._expire(st, now)
            if "lang" not in st:
                st["lang"] = msg.language if msg.language in ("de", "en") else (
                    ctx.config.default_language)
            talk = Talk(ctx, msg, st, now)
            text = (msg.text or "").strip()
            try:
                if not text:
                    talk.say("error.empty", buttons=self._menu(talk))
                elif len(text) > ctx.config.server.max_message_chars:
                    talk.say("error.too_long", max=ctx.config.server.max_message_chars)
                    self._reask(talk)
                elif not _is_text(text):
                    talk.say("error.not_text")
                    self._reask(talk)
                else:
                    await self._turn(talk, text)
                    self._way_out(talk)
            except Exception:
                log.exception("dialogue error on %s", msg.channel)
                metrics.ERRORS.inc()
                turn.state = before
                talk.st = before
                talk.replies = []
                talk.say("error.internal", buttons=self._menu(talk))
            st = talk.st
            st["seen"] = now.isoformat()
            turn.state = st
            await turn.save(now)
        return talk.replies

    def _expire(self, st: dict[str, Any], now: datetime) -> None:
        """Forget a half-finished flow after the configured idle time (a new visitor at the
        kiosk, or a citizen coming back days later)."""
        seen = st.get("seen")
        idle = timedelta(hours=self.ctx.config.retention.conversation_idle_hours)
        if seen and now - datetime.fromisoformat(seen) > idle:
            for key in (*FLOW_KEYS, "history", "facts", "misses"):
                st.pop(key, None)

    def _way_out_now(self, talk: Talk) -> None:
        st = talk.st
        office = self.ctx.config.office(st.get("office") or "")
        offices = [office] if office else self.ctx.config.offices
        listing = "\n".join(f"• {o.name.get(talk.lang)}: {o.phone}" for o in offices if o.phone)
        buttons = [talk.button("button.continue", "/back")] if st.get("flow") else []
        talk.say("way_out", listing=listing, buttons=[
            *buttons, talk.button("menu.human", "/request_human"), *self._menu(talk, short=True)])

    def _way_out(self, talk: Talk) -> None:
        """After two misunderstandings in a row, say so plainly and offer the likely next
        steps, a person, and the office's phone number and hours."""
        st = talk.st
        if not any(r.key in MISUNDERSTOOD for r in talk.replies):
            st.pop("misses", None)
            return
        st["misses"] = st.get("misses", 0) + 1
        if st["misses"] < 2:
            return
        st.pop("misses", None)
        self._way_out_now(talk)

    async def _turn(self, talk: Talk, text: str) -> None:
        st = talk.st
        try:
            u = parse_payload(text)
        except (BadPayload, ValueError):
            talk.say("error.unknown_payload")
            self._reask(talk, menu=True)
            return
        if u is None:
            u = self._understand_locally(talk, text)
        if u is None:
            u = await self._understand(talk, text)
        if st.get("flow"):
            st["turns"] = st.get("turns", 0) + 1
        command = u.command or (keyword_command(text) if not u.from_button else None)
        if command is None and not u.from_button:
            command = answers.command_in_sentence(text)
            if command == "human":
                command, u.intent, u.confidence = None, "request_human", 1.0
            if command == "abort" and st.get("step") == "contact":
                command = "skip"
            if command == "abort" and not st.get("flow") and u.intent == "cancel_appointment":
                command = None  # "nein, lieber nicht" to the optional contact question
        if not u.from_button and st.get("step") not in {"name", "proof"}:
            name = answers.name_in_first_message(text)
            if name:
                st.setdefault("facts", {})["name"] = name
                if st.get("flow") == "book":
                    st["name"] = name
        if command == "set_language":
            lang = u.args.get("language")
            st["lang"] = lang if lang in ("de", "en") else st["lang"]
            talk.say("lang.switched")
            self._reask(talk, menu=True)
            return
        if command in {"restart", "abort"}:
            await self._release(talk)
            self._clear_flow(st)
            st.pop("history", None)
            talk.say("flow.restarted" if command == "restart" else "flow.aborted",
                     buttons=self._menu(talk))
            return
        if command == "back":
            await self._back(talk)
            return
        if command == "skip" and st.get("step") != "contact":
            u.intent, u.confidence = "deny", 1.0
        elif command:
            u.command = command
        if st.get("flow") and not u.from_button:
            self._remember(st)
        if st.get("flow") and await self._step(talk, u):
            return
        await self._intent(talk, u)

    def _understand_locally(self, talk: Talk, text: str) -> Understanding | None:
        """A reply that plainly answers the pending question (a number, a time from the list,
        a name, a contact, yes or no, a code) and carries no command or switch of task is
        understood here, without asking Rasa; None when Rasa should decide."""
        st, step = talk.st, talk.st.get("step")
        if not st.get("flow") or step is None or "?" in text or len(text) > 80:
            return None
        if keyword_command(text) or answers.command_in_sentence(text) or answers.is_insult(text):
            return None
        spoken = normalize_spoken(text, st.get("lang"))
        u = Understanding(text=text, choice=number_choice(spoken))
        fits = False
        if step == "slot" and st.get("offered"):
            tr = resolve_time(spoken, talk.now, st.get("lang"))
            if tr is not None:
                u.start, u.end = tr.start, tr.end
            fits = u.choice is not None or self._slot_index(talk, u) is not None
        elif step in {"name", "proof"}:
            fits = answers.plausible_name(text) is not None and (
                not self.ctx.nlu or not self.ctx.nlu.resolver.scan(spoken))
        elif step == "contact":
            answer = answers.contact_answer(text, st.get("lang"))
            fits = answer is not None and (answer.phone or answer.email or len(text.split()) <= 3)
        elif step == "confirm":
            fits = answers.yes_no(text) is not None and len(text.split()) <= 3
        elif step == "reference":
            u.reference = references.find(text)
            fits = u.reference is not None and len(text.split()) <= 4
        if not fits:
            return None
        metrics.NLU_SKIPPED.inc()
        return u

    async def _understand(self, talk: Talk, text: str) -> Understanding:
        """NLU for free text; when Rasa is down, what the text itself tells (codes, names of
        services and offices, times) so the conversation goes on with buttons."""
        ctx, st = self.ctx, talk.st
        spoken = normalize_spoken(text, st.get("lang"))
        u = Understanding(text=text, choice=number_choice(spoken))
        if st.get("step") not in {"name", "proof", "contact", "reference"} and len(text) > 3:
            st["lang"] = detect_language(text, previous=st.get("lang"))
        metrics.NLU_CALLS.inc()
        try:
            assert ctx.nlu is not None
            result = await ctx.nlu.parse(text, now=talk.now, lang_hint=st.get("lang"))
        except NLUUnavailable:
            metrics.NLU_FAILURES.inc()
            u.nlu_down = True
            for ent in ctx.nlu.resolver.scan(spoken) if ctx.nlu else []:
                setattr(u, ent.entity, getattr(u, ent.entity) or ent.value)
            u.reference = references.find(text)
            tr = resolve_time(spoken, talk.now, st.get("lang"))
            if tr is not None:
                u.start, u.end = tr.start, tr.end
            return u
        u.intent, u.confidence, u.ranking = result.intent, result.confidence, list(result.ranking)
        for ent in result.entities:
            if ent.entity in ("service", "office", "reference") and not getattr(u, ent.entity):
                setattr(u, ent.entity, ent.value)
        if not u.service and (st.get("step") == "service" or u.intent in {
                "book_appointment", "inform", "ask_service_info"}):
            # "ich möchte mich in Großenhain ummelden": an everyday word names the service
            # when the message is about booking one.
            services = [m.value for m in ctx.nlu.resolver.scan_lenient(spoken)
                        if m.entity == "service"]
            if len(set(services)) == 1:
                u.service = services[0]
        u.reference = u.reference or references.find(text)
        if result.time is not None:
            u.start, u.end = result.time.start, result.time.end
        return u

    # -- intents outside (or switching) a flow -------------------------------------------------
    async def _intent(self, talk: Talk, u: Understanding) -> None:
        st = talk.st
        intent = u.intent
        if u.nlu_down and not u.from_button:
            await self._nlu_down(talk, u)
            return
        if not u.from_button and not u.has_entities and answers.is_insult(u.text):
            talk.say("insult.calm")
            self._way_out_now(talk)
            return
        if not u.from_button and intent is not None and self._unsure(u):
            agreed = self._agreed_intent(u, st)
            if intent == "inform" and u.has_entities:
                pass  # entities speak for themselves
            elif agreed is not None:
                intent = agreed
            elif u.service and (u.office or u.has_time) and not u.reference:
                intent = "book_appointment"  # "Kann ich am Freitag im Landratsamt eine …?"
            elif u.reference:  # a code (and a name): the likeliest of check, move, cancel
                intent = next((name for name, _ in u.ranking if name in {
                    "check_appointment", "reschedule_appointment", "cancel_appointment"}),
                    "check_appointment")
            else:
                self._clarify(talk, u)
                return
        if intent == "greet" and not u.from_button and not re.search(
                r"\b(hall?o|hi|hey|hello|guten|moin|servus|gr(ü|ue)(ß|ss)|tag|abend|morning"
                r"|evening|good|start)\b", u.text, re.I):
            intent = "nlu_fallback"
        if not u.from_button and answers.asks_where(u.text) and intent not in FLOW_INTENTS and (
                self._where(talk, u)):
            if st.get("flow"):
                await self._advance(talk)
            return
        if intent in {"greet", "goodbye", "thank"} and u.has_entities and not u.from_button:
            intent = "inform"  # "Gut, dann buche ich das. In Meißen morgen."
        if (intent == "ask_service_info" and not u.from_button and u.service
                and (u.has_time or u.office) and "?" not in u.text):
            intent = "book_appointment"  # "Meldebescheinigung in Radebeul morgen"
        if intent == "inform" and not st.get("flow"):
            intent = self._guess_from_entities(talk, u)
            if intent is None:
                return
        if intent in FLOW_INTENTS:
            flow = FLOW_INTENTS[intent]
            if st.get("flow") != flow or u.from_button:
                if st.get("flow") and st.get("flow") != flow:
                    talk.say("flow.switched")
                await self._start(talk, flow, u)
            else:
                self._absorb(talk, u)
                await self._advance(talk)
            return
        if intent == "ask_service_info":
            self._service_info(talk, u)
        elif intent == "ask_opening_hours":
            self._opening_hours(talk, u)
        elif intent == "request_human":
            await self._human(talk, u)
            return
        elif intent == "greet":
            talk.say("greet", buttons=[] if st.get("flow") else self._menu(talk))
        elif intent == "goodbye":
            await self._release(talk)
            self._clear_flow(st)
            talk.say("goodbye")
            return
        elif intent == "thank":
            talk.say("thanks")
        elif intent == "help":
            talk.say("help", buttons=self._menu(talk))
        elif intent in {"affirm", "deny"} and not st.get("flow"):
            talk.say("menu.what", buttons=self._menu(talk))
        elif st.get("flow"):
            talk.say("fallback.in_flow")
        else:
            talk.say("fallback", buttons=self._menu(talk))
            return
        if st.get("flow"):
            await self._advance(talk)

    def _unsure(self, u: Understanding) -> bool:
        cfg = self.ctx.config.nlu
        if u.intent == "nlu_fallback" or u.confidence < cfg.confidence_threshold:
            return True
        ranked = [r for r in u.ranking if r[0] != "nlu_fallback"]
        return len(ranked) > 1 and ranked[0][1] - ranked[1][1] < cfg.ambiguity_margin and (
            u.confidence < 0.8)

    def _agreed_intent(self, u: Understanding, st: dict[str, Any]) -> str | None:
        """The intent to act on when the two likeliest intentions lead to the same action.

        "Ich brauche einen neuen Personalausweis in Meißen" may score booking 0.43 and
        inform 0.38: an answer naming a service outside a flow starts a booking, inside a flow
        it feeds that flow, so both readings do the same and asking back would only cost a turn.
        """
        top = [(name, conf) for name, conf in u.ranking if name != "nlu_fallback"][:2]
        if len(top) < 2 or sum(conf for _, conf in top) < self.ctx.config.nlu.confidence_threshold:
            return None
        flow_intent = next((i for i, f in FLOW_INTENTS.items() if f == st.get("flow")), None)

        def action(name: str) -> str:
            if name == "inform":
                if flow_intent is not None:
                    return flow_intent
                if u.service:
                    return "book_appointment"
            return name

        actions = {action(name) for name, _ in top}
        return actions.pop() if len(actions) == 1 else None

    def _clarify(self, talk: Talk, u: Understanding) -> None:
        """Ask back with buttons for the two most likely intentions instead of guessing."""
        options = [name for name, _ in u.ranking
                   if name not in {"nlu_fallback", "out_of_scope", "inform", "affirm", "deny",
                                   "greet", "goodbye", "thank"}][:2]
        if not options:
            talk.say("fallback", buttons=self._menu(talk))
            return
        extra = _entity_json(u)
        talk.say("clarify", buttons=[talk.button(f"intent.{o}", f"/{o}{extra}") for o in options]
                 + [talk.button("menu.other", "/help")])

    def _guess_from_entities(self, talk: Talk, u: Understanding) -> str | None:
        known = (talk.st.get("facts") or {}).get("service")
        if u.service or (known and (u.office or u.has_time)):
            return "book_appointment"
        if u.reference and u.has_time:
            return "reschedule_appointment"  # "… Freitag geht auch?"
        if u.reference:
            talk.say("reference.what", buttons=[
                talk.button("menu.check", f'/check_appointment{{"reference": "{u.reference}"}}'),
                talk.button("menu.reschedule",
                            f'/reschedule_appointment{{"reference": "{u.reference}"}}'),
                talk.button("menu.cancel", f'/cancel_appointment{{"reference": "{u.reference}"}}'),
            ])
            return None
        if u.office and u.has_time:
            return "book_appointment"  # "kann ich am Montag in Meißen vorbeikommen?"
        if u.office:
            talk.say("office.what", office=self._office(u.office).name.get(talk.lang), buttons=[
                talk.button("menu.book", f'/book_appointment{{"office": "{u.office}"}}'),
                talk.button("menu.hours", f'/ask_opening_hours{{"office": "{u.office}"}}'),
            ])
            return None
        talk.say("fallback", buttons=self._menu(talk))
        return None

    async def _nlu_down(self, talk: Talk, u: Understanding) -> None:
        """Rasa is unreachable: say so briefly and carry on with what can be done by buttons."""
        st = talk.st
        if u.service and not st.get("flow"):
            talk.say("nlu.down_short")
            await self._start(talk, "book", u)
            return
        talk.say("nlu.down", buttons=self._menu(talk))

    # -- flow bookkeeping ----------------------------------------------------------------------
    async def _start(self, talk: Talk, flow: str, u: Understanding) -> None:
        st = talk.st
        keep_lang = st.get("lang")
        await self._release(talk)
        self._clear_flow(st)
        st.update(flow=flow, step=None, lang=keep_lang, flow_started=talk.now.isoformat(),
                  turns=1, mode="video" if u.args.get("mode") == "video" else "in_person")
        self._prefill(st, flow)
        if u.reference:
            if u.reference != st.get("reference"):
                st.pop("proof", None)
            st["reference"] = u.reference
            proof = answers.proof_in_sentence(references.without_code(u.text))
            if proof and not u.from_button and flow in {"reschedule", "cancel", "check"}:
                st["proof"] = proof
        self._absorb(talk, u)
        await self._advance(talk)

    def _prefill(self, st: dict[str, Any], flow: str) -> None:
        """Start a flow with what the citizen already told us in this conversation."""
        facts = st.get("facts") or {}
        if flow in {"book", "video"}:
            keys: tuple[str, ...] = ("service", "office", "start", "end", "name")
            if "contact" in facts:
                st["contact"] = copy.deepcopy(facts["contact"])
        else:
            keys = ("reference", "proof")
            if facts.get("name") and not facts.get("proof"):
                st["proof"] = facts["name"].split()[-1]
        for key in keys:
            if facts.get(key) and not st.get(key):
                st[key] = facts[key]

    @staticmethod
    def _task_done(st: dict[str, Any], a: AppointmentView) -> None:
        """A finished task: keep who the citizen is and what the appointment is (for "what do
        I need to bring?"), not the wishes that led to it (a next booking starts fresh)."""
        facts = st.setdefault("facts", {})
        for key in ("service", "office", "start", "end"):
            facts.pop(key, None)
        facts.update(last_service=a.service, last_office=a.office, reference=a.reference)

    @staticmethod
    def _learn(st: dict[str, Any], **values: Any) -> None:
        facts = st.setdefault("facts", {})
        facts.update({k: v for k, v in values.items() if v is not None})

    def _clear_flow(self, st: dict[str, Any]) -> None:
        for key in FLOW_KEYS:
            st.pop(key, None)

    def _remember(self, st: dict[str, Any]) -> None:
        snap = {k: copy.deepcopy(st[k]) for k in FLOW_KEYS if k in st and k != "hold"}
        history = st.setdefault("history", [])
        history.append(snap)
        del history[:-MAX_HISTORY]

    async def _back(self, talk: Talk) -> None:
        st = talk.st
        history = st.get("history") or []
        # The newest snapshot is the state before the current question; go one further.
        target = None
        current_step = st.get("step")
        while history:
            snap = history.pop()
            if snap.get("step") != current_step:
                target = snap
                break
        if target is None or not st.get("flow"):
            talk.say("back.nothing", buttons=self._menu(talk))
            return
        keep_slot = target.get("step") in {"name", "contact", "confirm", "proof"}
        hold = st.get("hold") if keep_slot else None
        if not keep_slot:
            await self._release(talk)
        self._clear_flow(st)
        st.update(target)
        if hold:
            st["hold"] = hold
        else:
            st.pop("chosen", None)
        st.pop("offered", None) if st.get("step") in {"time", "office", "service"} else None
        if st.get("step") == "contact":  # ask the optional question again
            st.pop("contact_asked", None)
            st.pop("contact", None)
        talk.say("back.ok")
        await self._advance(talk)

    async def _release(self, talk: Talk) -> None:
        token = talk.st.pop("hold", None)
        if token:
            await booking.release(self.ctx, token)

    def _reask(self, talk: Talk, menu: bool = False) -> None:
        """Repeat the pending question (after an error message), synchronously from state."""
        st = talk.st
        if st.get("flow") and st.get("step"):
            talk.say("reask." + st["step"])
        elif menu:
            talk.say("menu.what", buttons=self._menu(talk))

    def _absorb(self, talk: Talk, u: Understanding) -> bool:
        """Take service, office and time from the message into the flow; True if any changed.
        A change invalidates offered slots and the hold (corrections: "lieber Donnerstag")."""
        st = talk.st
        changed = False
        if u.service and u.service != st.get("service") and self.ctx.config.service(u.service):
            st["service"] = u.service
            self._learn(st, service=u.service)
            changed = True
        if u.office and u.office != st.get("office") and self.ctx.config.office(u.office):
            chosen = st.get("chosen")
            if chosen and not u.has_time:  # "gleiche Zeit, aber in Riesa"
                st["start"] = st["end"] = chosen["start"]
            st["office"] = u.office
            self._learn(st, office=u.office)
            changed = True
        if u.has_time and st.get("flow") in {"book", "reschedule", "video"}:
            assert u.start is not None and u.end is not None
            st["start"], st["end"] = u.start.isoformat(), u.end.isoformat()
            self._learn(st, start=st["start"], end=st["end"])
            changed = True
        if u.reference and st.get("flow") in {"reschedule", "cancel", "check"} and (
                not st.get("appointment_id")):
            st["reference"] = u.reference
        if changed:
            st.pop("offered", None)
            st.pop("chosen", None)
            if st.get("step") == "confirm" and st.get("flow") == "reschedule":
                st["step"] = "time"
        return changed

    # -- steps ---------------------------------------------------------------------------------
    async def _step(self, talk: Talk, u: Understanding) -> bool:
        """Let the current step consume the message; False hands it to intent handling."""
        st = talk.st
        step = st.get("step")
        if not u.from_button and await self._answer_first(talk, u, step):
            return True
        if not u.from_button and not u.has_entities and answers.is_insult(u.text):
            return False  # answered calmly, with a way to a person
        if u.intent in FLOW_INTENTS and FLOW_INTENTS[u.intent] != st["flow"] and (
                u.from_button or not self._unsure(u)) and not (
                step in {"name", "proof"} and not u.from_button and u.confidence < 0.8):
            return False
        if u.intent in SIDE_INTENTS and (u.from_button or u.confidence >= 0.8) and (
                step not in {"name", "proof"} or u.from_button or "?" in u.text):
            return False
        if u.intent in {"greet", "goodbye", "thank"} and not u.has_entities and (
                u.from_button or u.confidence >= 0.8) and step not in {"name", "proof"}:
            return False
        if step == "slot":
            await self._step_slot(talk, u)
        elif step == "name":
            await self._step_name(talk, u)
        elif step == "contact":
            await self._step_contact(talk, u)
        elif step == "confirm":
            await self._step_confirm(talk, u)
        elif step == "reference":
            await self._step_reference(talk, u)
        elif step == "proof":
            await self._step_proof(talk, u)
        elif step == "video_choice":
            await self._step_video_choice(talk, u)
        else:  # service, office, time: anything with entities moves on
            if step == "service" and u.choice and not u.service:
                u.service = _pick(self._service_choices(talk), u.choice)
            if step == "office" and u.choice and not u.office:
                u.office = _pick([o.id for o in self._office_choices(talk)], u.choice)
            if step == "time" and u.command == "asap":
                u.start, u.end = talk.now, talk.now + timedelta(days=14)
            if not self._absorb(talk, u) and not u.from_button:
                if u.intent in {"deny"}:
                    talk.say("flow.what_instead", buttons=self._menu(talk))
                    return True
                talk.say("reask.not_understood")
            await self._advance(talk)
        return True

    async def _answer_first(self, talk: Talk, u: Understanding, step: str | None) -> bool:
        """The answer to the question just asked comes first, whatever the intent: a time
        from the offered list, a service named at the service question, a name, a contact,
        a yes or no to the summary. True when the message was taken as that answer."""
        st, text = talk.st, u.text
        # "lieber doch in Riesa", "anything on Thursday instead?": the booking being made
        # changes; nothing booked is to be moved yet.
        if st.get("flow") == "book" and u.intent == "reschedule_appointment" and (
                not u.reference and u.has_entities) and self._absorb(talk, u):
            await self._release(talk)
            st["step"] = "slot"
            await self._advance(talk)
            return True
        if step in {"name", "contact", "confirm"} and st.get("flow") in {"book", "reschedule"} and (
                st.get("offered") and (u.has_time or answers.ordinal_choice(
                    normalize_spoken(text, talk.lang), len(st["offered"])))):
            index = self._slot_index(talk, u)
            if index is not None:  # "doch lieber den späteren um 09:00"
                await self._take_slot(talk, index)
                return True
            if u.has_time and step != "confirm":
                self._absorb(talk, u)
                await self._advance(talk)
                return True
        if step in {"service", "office"} and not u.service and not u.office:
            choices = (self._service_choices(talk) if step == "service"
                       else [o.id for o in self._office_choices(talk)])
            picked = answers.ordinal_choice(normalize_spoken(text, talk.lang), len(choices))
            if picked is not None:
                setattr(u, step, choices[picked - 1])
        if step == "slot":
            index = self._slot_index(talk, u)
            if index is not None:
                await self._take_slot(talk, index)
                return True
            return False
        if step == "service" and u.service:
            self._absorb(talk, u)
            await self._advance(talk)
            return True
        if step == "office" and u.office:
            self._absorb(talk, u)
            await self._advance(talk)
            return True
        if step == "time" and u.has_time and not u.service:
            self._absorb(talk, u)
            await self._advance(talk)
            return True
        if step == "name":
            name = answers.name_in_sentence(text)
            if name and not u.service and not (u.intent in SIDE_INTENTS and "?" in text):
                st["name"] = name
                self._learn(st, name=name)
                await self._advance(talk)
                return True
            return False
        if step == "contact":
            answer = answers.contact_answer(text, talk.lang)
            if answer is None:
                return False
            if answer.willing:
                talk.say("contact.which", buttons=[talk.button("button.skip", "/skip")])
                return True
            st["contact"] = ({"phone": answer.phone} if answer.phone else
                             {"email": answer.email} if answer.email else {})
            if st["contact"]:
                self._learn(st, contact=st["contact"])
            await self._advance(talk)
            return True
        if step == "confirm":
            return await self._confirm_answer(talk, u)
        if step == "proof" and not (u.intent in SIDE_INTENTS and "?" in text):
            code = u.reference or references.find(text)
            if code and code != st.get("reference"):
                return False
            rest = references.without_code(text)
            contact = answers.contact_answer(rest, talk.lang)
            proof = (contact.phone or contact.email) if contact else None
            proof = proof or answers.name_in_sentence(rest) or answers.proof_in_sentence(rest)
            if proof:
                st["proof"] = proof
                await self._advance(talk)
                return True
        if step == "reference":
            code = u.reference or references.find(text)
            if not code and st.get("reference_tried") and not u.has_entities:
                proof = answers.name_in_sentence(text) or answers.proof_in_sentence(text)
                if proof and answers.yes_no(text) is None:
                    st["reference"], st["proof"] = st.pop("reference_tried"), proof
                    await self._advance(talk)
                    return True
            if code:
                st["reference"] = code
                proof = answers.proof_in_sentence(references.without_code(text))
                if proof and not st.get("proof"):
                    st["proof"] = proof
                await self._advance(talk)
                return True
        return False

    async def _confirm_answer(self, talk: Talk, u: Understanding) -> bool:
        st, text = talk.st, u.text
        folded = text.casefold()
        if st["flow"] == "book" and ("name" in folded or re.search(
                r"\b(hei(ß|ss)e|es ist|sondern)\b", folded)):
            name = answers.name_in_sentence(text, whole_text_ok=False)
            if name and name != st.get("name"):
                st["name"] = name
                self._learn(st, name=name)
                await self._advance(talk)
                return True
            if re.search(r"name\w* (ändern|aendern|korrigieren|falsch|stimmt nicht)"
                         r"|(change|correct|wrong) (the |my )?name", folded):
                st.pop("name", None)
                await self._advance(talk)
                return True
        if u.has_entities and st["flow"] in {"book", "reschedule"}:
            if self._absorb(talk, u):  # "gleiche Zeit, aber in Riesa", "lieber Donnerstag"
                await self._release(talk)
                st["step"] = "slot" if st["flow"] == "book" else "time"
                await self._advance(talk)
                return True
            return False
        if u.has_entities:
            return False
        decision = answers.yes_no(text)
        if decision is True and u.intent not in {"deny"}:
            await self._do(talk)
            return True
        if decision is False and u.intent not in {"affirm"} and len(text.split()) <= 3:
            u.intent = "deny"
        return False

    async def _do(self, talk: Talk) -> None:
        flow = talk.st["flow"]
        if flow == "book":
            await self._do_book(talk)
        elif flow == "reschedule":
            await self._do_reschedule(talk)
        elif flow == "cancel":
            await self._do_cancel(talk)

    def _slot_index(self, talk: Talk, u: Understanding) -> int | None:
        """Which offered slot the message picks: a number or ordinal ("die Nummer 3 nehme
        ich"), a clock time from the list ("um 10:45", "halb neun"), or a day + time."""
        offered = talk.st.get("offered") or []
        if not offered:
            return None
        if u.choice is not None:
            return u.choice if 1 <= u.choice <= len(offered) else None
        spoken = normalize_spoken(u.text, talk.lang)
        picked = answers.ordinal_choice(spoken, len(offered))
        if picked is not None and not answers.names_a_day(u.text) and not (
                u.has_time and u.start == u.end):
            return picked
        if u.has_time:
            index = _match_slot(offered, u, answers.names_a_day(u.text))
            if index is not None:
                return index
            if u.start != u.end or answers.names_a_day(u.text):
                return None  # another day or a window: search again
        if u.service or u.office:
            return None
        return picked

    async def _take_slot(self, talk: Talk, index: int) -> None:
        st = talk.st
        slot = st["offered"][index - 1]
        start, end = datetime.fromisoformat(slot["start"]), datetime.fromisoformat(slot["end"])
        token = await booking.hold(self.ctx, slot["office"], start, end)
        if token is None:
            talk.say("slot.taken")
            st.pop("offered", None)
            await self._advance(talk)
            return
        await self._release(talk)
        st["hold"], st["chosen"] = token, slot
        st["office"] = slot["office"]
        await self._advance(talk)

    async def _step_slot(self, talk: Talk, u: Understanding) -> None:
        st = talk.st
        offered = st.get("offered") or []
        if self._absorb(talk, u):
            await self._advance(talk)
            return
        index = self._slot_index(talk, u) if u.from_button else None
        if index is not None:
            await self._take_slot(talk, index)
            return
        if u.intent == "deny" or u.command == "change":
            st.pop("start", None)
            st.pop("end", None)
            st.pop("offered", None)
            await self._advance(talk)
            return
        talk.say("slot.pick_one", n=len(offered))
        await self._advance(talk)

    async def _step_name(self, talk: Talk, u: Understanding) -> None:
        name = None if u.from_button else answers.name_in_sentence(u.text)
        if name is None and "?" in u.text:
            talk.say("name.why")
            return
        if name is None:
            talk.say("name.invalid")
            return
        talk.st["name"] = name
        self._learn(talk.st, name=name)
        await self._advance(talk)

    async def _step_contact(self, talk: Talk, u: Understanding) -> None:
        st = talk.st
        st["contact_asked"] = True
        text = u.text.strip()
        if u.command == "skip" or (u.intent == "deny" and not any(c.isdigit() for c in text)):
            st["contact"] = {}
            await self._advance(talk)
            return
        email = EMAIL.search(text)
        phone = normalize_phone(text) if not email else None
        if email:
            st["contact"] = {"email": email.group(0)}
        elif phone:
            st["contact"] = {"phone": phone}
        else:
            talk.say("contact.invalid", buttons=[talk.button("button.skip", "/skip")])
            return
        await self._advance(talk)

    async def _step_confirm(self, talk: Talk, u: Understanding) -> None:
        st = talk.st
        if self._absorb(talk, u):
            if st["flow"] == "book":
                st["step"] = "slot"
            await self._advance(talk)
            return
        # "Ja, bitte buchen" may come back as the flow's own intent: that is a yes, too.
        if u.intent == "affirm" or FLOW_INTENTS.get(u.intent or "") == st["flow"]:
            await self._do(talk)
            return
        if u.intent == "deny":
            if st["flow"] == "cancel":
                self._clear_flow(st)
                talk.say("cancel.kept", buttons=self._menu(talk))
                return
            buttons = [talk.button("change.time", '/change{"what": "time"}')]
            if st["flow"] == "book":
                buttons.append(talk.button("change.office", '/change{"what": "office"}'))
            buttons.append(talk.button("button.abort", "/abort"))
            talk.say("confirm.what_change", buttons=buttons)
            return
        if u.command == "change":
            what = u.args.get("what")
            await self._release(talk)
            st.pop("chosen", None)
            st.pop("offered", None)
            if what == "office":
                st.pop("office", None)
            else:
                st.pop("start", None)
                st.pop("end", None)
            st["step"] = None
            await self._advance(talk)
            return
        talk.say("confirm.yes_or_no")
        await self._advance(talk)

    async def _step_reference(self, talk: Talk, u: Understanding) -> None:
        code = u.reference or references.find(u.text) or references.normalize(u.text)
        if not code:
            talk.say("reference.invalid", buttons=[talk.button("menu.human", "/request_human")])
            return
        talk.st["reference"] = code
        await self._advance(talk)

    async def _step_proof(self, talk: Talk, u: Understanding) -> None:
        proof = u.text.strip()
        if u.from_button or len(proof) < 2 or answers.yes_no(proof) is not None:
            talk.say("reask.proof")
            return
        talk.st["proof"] = proof
        await self._advance(talk)

    async def _step_video_choice(self, talk: Talk, u: Understanding) -> None:
        if u.command == "video_now":
            await self._video_now(talk)
            return
        if u.command == "video_appointment" or u.has_time or u.service:
            st = talk.st
            st.update(flow="book", step=None, mode="video")
            self._absorb(talk, u)
            await self._advance(talk)
            return
        talk.say("reask.video_choice")
        await self._advance(talk)

    # -- advancing flows: ask for whatever is missing next ------------------------------------
    async def _advance(self, talk: Talk) -> None:
        flow = talk.st.get("flow")
        if flow == "book":
            await self._advance_book(talk)
        elif flow in {"reschedule", "cancel", "check"}:
            await self._advance_manage(talk)
        elif flow == "video":
            service = self.ctx.config.service(talk.st.get("service") or "")
            if service is not None and not service.video:
                # "Geht die Meldebescheinigung auch per Video?": no; offer it in person.
                talk.say("video.not_for_service", service=service.name.get(talk.lang))
                talk.st.update(flow="book", step=None, mode="in_person")
                await self._advance_book(talk)
                return
            talk.st["step"] = "video_choice"
            talk.say("video.choose", buttons=[
                talk.button("video.button_now", "/video_now"),
                talk.button("video.button_appointment", "/video_appointment"),
            ])

    async def _advance_book(self, talk: Talk) -> None:
        st, cfg = talk.st, self.ctx.config
        service = cfg.service(st.get("service") or "")
        if service is None or (st.get("mode") == "video" and not service.video):
            if service is not None:
                talk.say("video.not_for_service", service=service.name.get(talk.lang))
                st.pop("service", None)
            st["step"] = "service"
            choices = self._service_choices(talk)
            talk.say("book.ask_service", buttons=[
                Button(cfg.service(s).name.get(talk.lang), f'/inform{{"service": "{s}"}}')
                for s in choices])
            return
        offices = self._office_choices(talk)
        office = cfg.office(st.get("office") or "")
        if office is not None and office.id not in {o.id for o in offices}:
            talk.say("book.office_lacks_service", office=office.name.get(talk.lang),
                     offices=", ".join(o.name.get(talk.lang) for o in offices),
                     service=service.name.get(talk.lang))
            st.pop("office", None)
            office = None
        if office is None and len(offices) == 1:
            office = offices[0]
            st["office"] = office.id
        if office is None:
            st["step"] = "office"
            talk.say("book.ask_office", service=service.name.get(talk.lang), buttons=[
                Button(o.name.get(talk.lang), f'/inform{{"office": "{o.id}"}}') for o in offices])
            return
        if not st.get("start"):
            st["step"] = "time"
            talk.say("book.ask_time", buttons=self._time_buttons(talk))
            return
        if not st.get("chosen"):
            await self._offer(talk, service, office)
            return
        if not st.get("name"):
            st["step"] = "name"
            talk.say("book.ask_name")
            return
        if "contact" not in st and talk.msg.verified_contact:
            st["contact"] = {"phone": talk.msg.verified_contact}  # the SMS sender's number
        if not st.get("contact_asked") and "contact" not in st:
            st["step"] = "contact"
            st["contact_asked"] = True
            talk.say("book.ask_contact", buttons=[talk.button("button.skip", "/skip")])
            return
        st["step"] = "confirm"
        chosen = st["chosen"]
        contact = st.get("contact") or {}
        talk.say(
            "book.summary",
            buttons=self._yes_no(talk),
            service=service.name.get(talk.lang),
            office=office.name.get(talk.lang),
            when=when(datetime.fromisoformat(chosen["start"]).astimezone(office.tz), talk.lang),
            name=st["name"],
            contact=contact.get("phone") or contact.get("email") or t("contact.none", talk.lang),
            mode=t(f"mode.{st.get('mode', 'in_person')}", talk.lang),
        )

    async def _offer(self, talk: Talk, service: Service, office: Office) -> None:
        st = talk.st
        frm, to = datetime.fromisoformat(st["start"]), datetime.fromisoformat(st["end"])
        result = await availability.offer(self.ctx, service.id, office.id, frm, to,
                                          channel=talk.msg.channel)
        st["step"] = "slot"
        slots = result.slots
        st["offered"] = [_slot_dict(s) for s in slots]
        exact = [i for i, s in enumerate(slots, 1) if frm == to and s.start == frm
                 and s.office_id == office.id]
        if exact:  # "Donnerstag 14 Uhr", "gleiche Zeit, aber in Riesa": free, so take it
            await self._take_slot(talk, exact[0])
            return
        if not slots and not result.other_offices:
            st.pop("start", None)
            st.pop("end", None)
            st["step"] = "time"
            talk.say("slot.none_at_all", office=office.name.get(talk.lang),
                     buttons=self._time_buttons(talk))
            return
        if not result.exact:
            self._why_not_free(talk, office, frm, to)
        buttons = [Button(when_short(s.start.astimezone(office.tz), talk.lang),
                          f'/choose{{"slot": {i}}}') for i, s in enumerate(slots, 1)]
        if result.other_offices and not result.exact:
            for s in result.other_offices:
                other = self.ctx.config.office(s.office_id)
                assert other is not None
                st["offered"].append(_slot_dict(s))
                title = when_short(s.start.astimezone(other.tz), talk.lang)
                buttons.append(Button(f"{other.name.get(talk.lang)}: {title}",
                                      f'/choose{{"slot": {len(st["offered"])}}}'))
        buttons.append(talk.button("button.other_time", '/change{"what": "time"}'))
        talk.say("slot.offer", buttons=buttons, office=office.name.get(talk.lang),
                 slots=[{"start": s["start"], "office": s["office"]} for s in st["offered"]],
                 listing=_listing(st["offered"], self.ctx, talk.lang),
                 data={"slots": st["offered"]})

    def _why_not_free(self, talk: Talk, office: Office, frm: datetime, to: datetime) -> None:
        """Nothing free in the window asked for: say so, and say why when the office is closed
        that day (a closure, a holiday, no opening hours)."""
        day = frm.astimezone(office.tz).date()
        if to - frm <= timedelta(days=1) and to.astimezone(office.tz).date() == day:
            closure, holiday = office.closed_on(day), holiday_name(day)
            if closure or holiday or not office.hours_on(day):
                why = holiday or (closure.reason.get(talk.lang) if closure and closure.reason
                                  else "")
                talk.say("hours.closed_on_day", office=office.name.get(talk.lang),
                         day=i18n_day(day, talk.lang), reason=f" ({why})" if why else "")
                return
        talk.say("slot.none_in_window")

    async def _advance_manage(self, talk: Talk) -> None:
        st, ctx = talk.st, self.ctx
        if not st.get("reference"):
            st["step"] = "reference"
            talk.say("manage.ask_reference")
            return
        if not st.get("appointment_id"):
            contact = talk.msg.verified_contact
            if not st.get("proof") and not contact:
                st["step"] = "proof"
                talk.say("manage.ask_proof", reference=references.display(st["reference"]))
                return
            found = await check.lookup(ctx, st["reference"], st.get("proof"), talk.origin(),
                                       verified_contact=contact,
                                       log_check=st["flow"] == "check")
            if found.throttled:  # the same answer whether the name was right or not
                self._clear_flow(st)
                talk.say("manage.locked", listing="\n".join(
                    f"• {o.name.get(talk.lang)}: {o.phone}" for o in ctx.config.offices if o.phone),
                    buttons=[talk.button("menu.human", "/request_human")])
                return
            if found.appointment is None and contact and not st.get("proof"):
                st["step"] = "proof"  # not booked from this number: ask for the name instead
                talk.say("manage.ask_proof", reference=references.display(st["reference"]))
                return
            if found.appointment is not None and found.appointment.status == "cancelled":
                self._show(talk, found.appointment, "manage.found_cancelled")
                self._clear_flow(st)
                talk.say("menu.anything_else", buttons=self._menu(talk))
                return
            if found.appointment is None or found.appointment.status != "booked":
                st["reference_tried"] = st.pop("reference", None)
                st.pop("proof", None)
                st["step"] = "reference"
                st["tries"] = st.get("tries", 0) + 1
                talk.say("manage.not_found", buttons=[talk.button("menu.human", "/request_human")]
                         if st["tries"] >= 2 else [])
                return
            a = found.appointment
            st["appointment_id"] = a.id
            st["service"] = a.service
            st.setdefault("office", a.office)
            if st["office"] != a.office and not st.get("start"):  # "nach Riesa verlegen"
                st["start"] = st["end"] = a.start.isoformat()
            self._learn(st, reference=st["reference"], proof=st.get("proof"),
                        last_service=a.service, last_office=a.office)
            st["current"] = {"start": a.start.isoformat(), "end": a.end.isoformat()}
            self._show(talk, a, "manage.found")
            if st["flow"] == "check":
                self._clear_flow(st)
                st.pop("current", None)
                talk.say("menu.anything_else", buttons=self._menu(talk))
                return
        flow = st["flow"]
        office = ctx.config.office(st["office"])
        service = ctx.config.service(st["service"])
        assert office is not None and service is not None
        if flow == "cancel":
            st["step"] = "confirm"
            talk.say("cancel.confirm", buttons=self._yes_no(talk))
            return
        if not st.get("start"):
            st["step"] = "time"
            talk.say("reschedule.ask_time", buttons=self._time_buttons(talk))
            return
        if not st.get("chosen"):
            await self._offer(talk, service, office)
            return
        st["step"] = "confirm"
        talk.say("reschedule.confirm", buttons=self._yes_no(talk),
                 when=when(datetime.fromisoformat(st["chosen"]["start"]).astimezone(office.tz),
                           talk.lang))

    # -- doing things --------------------------------------------------------------------------
    async def _do_book(self, talk: Talk) -> None:
        st, ctx = talk.st, self.ctx
        chosen = st["chosen"]
        office = ctx.config.office(chosen["office"])
        service = ctx.config.service(st["service"])
        assert office is not None and service is not None
        start, end = datetime.fromisoformat(chosen["start"]), datetime.fromisoformat(chosen["end"])
        meeting = None
        if st.get("mode") == "video":
            meeting = await escalate.create_meeting(ctx, service.name.get(talk.lang), start)
        contact = st.get("contact") or {}
        token = st.get("hold") or ""
        view = await booking.confirm(
            ctx, token, service_id=service.id, office_id=office.id, start=start, end=end,
            citizen=booking.Citizen(st["name"], contact.get("phone"), contact.get("email")),
            origin=talk.origin(), mode=st.get("mode", "in_person"),
            video_url=meeting.citizen_url if meeting else None,
            staff_video_url=meeting.staff_url if meeting else None,
        )
        if view is None:
            st.pop("hold", None)
            st.pop("chosen", None)
            st.pop("offered", None)
            talk.say("slot.taken")
            await self._advance(talk)
            return
        st.pop("hold", None)
        self._clear_flow(st)
        st.pop("history", None)
        self._task_done(st, view)
        self._booked(talk, view, office, service)

    def _booked(self, talk: Talk, a: AppointmentView, office: Office, service: Service) -> None:
        lang = talk.lang
        talk.say(
            "book.done",
            data={"reference": a.display_reference, "appointment": a.to_api(False)},
            reference=a.display_reference,
            service=service.name.get(lang),
            office=office.name.get(lang),
            address=office.address.one_line(),
            when=when(a.start.astimezone(office.tz), lang),
            documents="\n".join(f"• {d}" for d in service.documents[lang]),
            fee=service.fee.get(lang),
        )
        if a.video_url:
            talk.say("book.video_link", url=a.video_url, data={"url": a.video_url})
        talk.say("book.keep_reference", reference=a.display_reference,
                 buttons=self._menu(talk, short=True))

    async def _do_reschedule(self, talk: Talk) -> None:
        st, ctx = talk.st, self.ctx
        chosen = st["chosen"]
        start, end = datetime.fromisoformat(chosen["start"]), datetime.fromisoformat(chosen["end"])
        view = await reschedule.move(ctx, st["appointment_id"], st.get("hold") or "", start, end,
                                     talk.origin(), office_id=chosen["office"])
        st.pop("hold", None)
        if view is None:
            st.pop("chosen", None)
            st.pop("offered", None)
            talk.say("slot.taken")
            await self._advance(talk)
            return
        office = ctx.config.office(view.office)
        assert office is not None
        self._clear_flow(st)
        self._task_done(st, view)
        st.pop("current", None)
        talk.say("reschedule.done", reference=view.display_reference,
                 when=when(view.start.astimezone(office.tz), talk.lang),
                 office=office.name.get(talk.lang),
                 data={"reference": view.display_reference, "appointment": view.to_api(False)},
                 buttons=self._menu(talk, short=True))

    async def _do_cancel(self, talk: Talk) -> None:
        st = talk.st
        view = await cancel.cancel(self.ctx, st["appointment_id"], talk.origin())
        self._clear_flow(st)
        st.pop("current", None)
        if view is None:
            talk.say("cancel.already", buttons=self._menu(talk))
            return
        talk.say("cancel.done", reference=view.display_reference,
                 buttons=self._menu(talk, short=True))

    def _show(self, talk: Talk, a: AppointmentView, key: str) -> None:
        office = self.ctx.config.office(a.office)
        service = self.ctx.config.service(a.service)
        assert office is not None and service is not None
        talk.say(key, reference=a.display_reference, service=service.name.get(talk.lang),
                 office=office.name.get(talk.lang), address=office.address.one_line(),
                 when=when(a.start.astimezone(office.tz), talk.lang),
                 mode=t(f"mode.{a.mode}", talk.lang),
                 data={"reference": a.display_reference, "appointment": a.to_api(False)})

    async def _video_now(self, talk: Talk) -> None:
        st, ctx = talk.st, self.ctx
        office = ctx.config.office(st.get("office") or "")
        open_offices = [o for o in ([office] if office else ctx.config.offices)
                        if _open_now(o, talk.now)]
        if not open_offices:
            st["flow"], st["step"], st["mode"] = "book", None, "video"
            talk.say("video.closed_now")
            await self._advance(talk)
            return
        meeting = await escalate.create_meeting(ctx, t("video.topic", talk.lang), None)
        target = office or open_offices[0]
        await escalate.request_staff(
            ctx, talk.origin(), kind="video", office_id=target.id if office else None,
            service_id=st.get("service"), meeting=meeting,
            notice=t("staff.video_request", "de", url=meeting.staff_url,
                     channel=talk.msg.channel),
        )
        self._clear_flow(st)
        talk.say("video.now", url=meeting.citizen_url, data={"url": meeting.citizen_url})

    async def _human(self, talk: Talk, u: Understanding) -> None:
        st, ctx = talk.st, self.ctx
        office = ctx.config.office(u.office or st.get("office") or "")
        phones = [office] if office else ctx.config.offices
        listing = "\n".join(f"• {o.name.get(talk.lang)}: {o.phone}" for o in phones if o.phone)
        await escalate.request_staff(
            ctx, talk.origin(), kind="human", office_id=office.id if office else None,
            service_id=st.get("service"),
            notice=t("staff.human_request", "de", channel=talk.msg.channel),
        )
        talk.say("human", listing=listing, buttons=[
            talk.button("menu.video", "/request_video_call"),
        ] + ([] if not st.get("flow") else [talk.button("button.continue", "/back")]))

    # -- side answers --------------------------------------------------------------------------
    def _service_info(self, talk: Talk, u: Understanding) -> None:
        cfg, lang = self.ctx.config, talk.lang
        facts = talk.st.get("facts") or {}
        service = cfg.service(u.service or talk.st.get("service") or facts.get("service")
                              or facts.get("last_service") or "")
        if service is None:
            talk.say("info.ask_service", buttons=[
                Button(s.name.get(lang), f'/ask_service_info{{"service": "{s.id}"}}')
                for s in cfg.services])
            return
        offices = ", ".join(o.name.get(lang) for o in cfg.offices_for(service.id))
        if not talk.st.get("flow"):
            self._learn(talk.st, service=service.id)
        talk.say(
            "info.service",
            service=service.name.get(lang),
            documents="\n".join(f"• {d}" for d in service.documents[lang]),
            fee=service.fee.get(lang),
            minutes=service.duration_minutes,
            notes=service.notes.get(lang) if service.notes else "",
            offices=offices,
            buttons=[] if talk.st.get("flow") else [
                talk.button("menu.book", f'/book_appointment{{"service": "{service.id}"}}')],
        )

    def _opening_hours(self, talk: Talk, u: Understanding) -> None:
        cfg, lang = self.ctx.config, talk.lang
        facts = talk.st.get("facts") or {}
        office = cfg.office(u.office or talk.st.get("office") or facts.get("office")
                            or facts.get("last_office") or "")
        if u.office and not talk.st.get("flow"):
            self._learn(talk.st, office=u.office)
        if u.start is not None and u.end is not None and (
                u.end - u.start) < timedelta(days=1, hours=1) and not u.from_button:
            self._hours_on_day(talk, office, u.start.date())
            return
        if office is None:
            talk.say("hours.ask_office", buttons=[
                Button(o.name.get(lang), f'/ask_opening_hours{{"office": "{o.id}"}}')
                for o in cfg.offices])
            return
        lines = []
        for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            ranges = office.opening_hours.get(day) or []
            if ranges:
                spans = ", ".join(f"{r.start:%H:%M}–{r.end:%H:%M}" for r in ranges)
                lines.append(f"{t('weekday.' + day, lang)}: {spans}")
        today = talk.now.astimezone(office.tz).date()
        closures = office.closures_from(today)[:2]
        notes = "".join(
            t("hours.closure", lang, start=f"{c.start:%d.%m.}", end=f"{c.last:%d.%m.%Y}",
              reason=c.reason.get(lang) if c.reason else "")
            for c in closures)
        talk.say("hours.office", office=office.name.get(lang), address=office.address.one_line(),
                 hours="\n".join(lines), closures=notes, phone=office.phone or "",
                 buttons=[] if talk.st.get("flow") else [
                     talk.button("menu.book", f'/book_appointment{{"office": "{office.id}"}}')])

    def _where(self, talk: Talk, u: Understanding) -> bool:
        """Where an office is, or where a service can be had ("Und wo kann ich das machen?");
        False when nothing in the conversation says which."""
        cfg, lang, facts = self.ctx.config, talk.lang, talk.st.get("facts") or {}
        office = cfg.office(u.office or talk.st.get("office") or facts.get("last_office")
                            or facts.get("office") or "")
        service = cfg.service(u.service or talk.st.get("service") or facts.get("service")
                              or facts.get("last_service") or "")
        if office is None and service is not None:
            offices = cfg.offices_for(service.id)
            talk.say("where.service", service=service.name.get(lang), listing="\n".join(
                f"• {o.name.get(lang)}, {o.address.one_line()}" for o in offices))
            return True
        if office is None:
            return False
        talk.say("where.office", office=office.name.get(lang), address=office.address.one_line(),
                 phone=office.phone or "")
        return True

    def _hours_on_day(self, talk: Talk, office: Office | None, on: date) -> None:
        """Opening hours for one date ("Hat Riesa am 1. Januar offen?"), for one office or,
        without one, which offices are open that day ("Welches Bürgerbüro hat samstags auf?")."""
        cfg, lang = self.ctx.config, talk.lang
        day_text = i18n_day(on, lang)
        holiday = holiday_name(on)
        offices = [office] if office else cfg.offices
        open_ = []
        for o in offices:
            closure = o.closed_on(on)
            ranges = [] if (holiday or closure) else o.hours_on(on)
            if ranges:
                open_.append((o, ", ".join(f"{r.start:%H:%M}–{r.end:%H:%M}" for r in ranges)))
            elif office is not None:
                why = holiday or (closure.reason.get(lang) if closure and closure.reason else "")
                talk.say("hours.closed_on_day", office=o.name.get(lang), day=day_text,
                         reason=f" ({why})" if why else "", phone=o.phone or "")
        if office is not None:
            if open_:
                talk.say("hours.on_day", office=office.name.get(lang), day=day_text,
                         hours=open_[0][1])
            return
        if not open_:
            talk.say("hours.none_on_day", day=day_text, reason=f" ({holiday})" if holiday else "")
            return
        talk.say("hours.offices_on_day", day=day_text,
                 listing="\n".join(f"• {o.name.get(lang)}: {h}" for o, h in open_))

    # -- buttons -------------------------------------------------------------------------------
    def _menu(self, talk: Talk, short: bool = False) -> list[Button]:
        items = [("menu.book", "/book_appointment"), ("menu.reschedule", "/reschedule_appointment"),
                 ("menu.cancel", "/cancel_appointment"), ("menu.check", "/check_appointment")]
        if not short:
            items += [("menu.info", "/ask_service_info"), ("menu.hours", "/ask_opening_hours"),
                      ("menu.video", "/request_video_call")]
        return [talk.button(k, p) for k, p in items]

    def _yes_no(self, talk: Talk) -> list[Button]:
        return [talk.button("button.yes", "/affirm"), talk.button("button.no", "/deny")]

    def _time_buttons(self, talk: Talk) -> list[Button]:
        now = talk.now.astimezone(self.ctx.config.offices[0].tz)
        monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                                microsecond=0)
        week_end = monday + timedelta(days=6, hours=23, minutes=59, seconds=59)
        asap = _range_payload(now, now + timedelta(days=14))
        return [
            talk.button("time.asap", asap),
            talk.button("time.this_week", _range_payload(now, week_end)),
            talk.button("time.next_week", _range_payload(monday + timedelta(days=7),
                                                         week_end + timedelta(days=7))),
        ]

    def _service_choices(self, talk: Talk) -> list[str]:
        video = talk.st.get("mode") == "video"
        office = self.ctx.config.office(talk.st.get("office") or "")
        return [s.id for s in self.ctx.config.services
                if (not video or s.video) and (office is None or s.id in office.services)]

    def _office_choices(self, talk: Talk) -> list[Office]:
        return self.ctx.config.offices_for(talk.st.get("service") or "", talk.msg.channel)

    def _office(self, office_id: str) -> Office:
        office = self.ctx.config.office(office_id)
        assert office is not None
        return office


# -- helpers ----------------------------------------------------------------------------------


def _is_text(text: str) -> bool:
    """False for binary junk: control characters other than whitespace, or NUL bytes."""
    bad = sum(1 for c in text if (ord(c) < 32 and c not in "\n\r\t") or c == "\ufffd")
    return bad == 0


def _slot_dict(s: Slot) -> dict[str, str]:
    return {"office": s.office_id, "start": s.start.isoformat(), "end": s.end.isoformat()}


def _pick(items: list[str], index: int) -> str | None:
    return items[index - 1] if 1 <= index <= len(items) else None


def _match_slot(offered: list[dict[str, str]], u: Understanding, day_named: bool) -> int | None:
    """Which offered slot a time in the message means ("den um 10", "halb drei", "Dienstag").

    A bare clock time keeps the day under discussion: it matches the offered slot at that time
    on any offered day (half past two is 14:30 in an office). With a day named, the day must
    match too."""
    assert u.start is not None and u.end is not None
    hits = []
    for i, s in enumerate(offered, 1):
        start = datetime.fromisoformat(s["start"]).astimezone(u.start.tzinfo)
        if u.start == u.end:
            same_day = start.date() == u.start.date()
            if day_named and not same_day:
                continue
            if (start.hour, start.minute) == (u.start.hour, u.start.minute):
                hits.append((0 if same_day else 1, i))
            elif (start.hour % 12, start.minute) == (u.start.hour % 12, u.start.minute):
                hits.append((2, i))
        elif u.start <= start <= u.end:
            hits.append((0, i))
    hits.sort()
    return hits[0][1] if hits and (len(hits) == 1 or hits[0][0] != hits[1][0]) else None


def _listing(offered: list[dict[str, str]], ctx: Context, lang: str) -> str:
    lines = []
    for i, s in enumerate(offered, 1):
        office = ctx.config.office(s["office"])
        assert office is not None
        start = datetime.fromisoformat(s["start"]).astimezone(office.tz)
        lines.append(f"{i}. {when(start, lang)} ({office.name.get(lang)})")
    return "\n".join(lines)


def _range_payload(start: datetime, end: datetime) -> str:
    return f'/inform{{"start": "{start.isoformat()}", "end": "{end.isoformat()}"}}'


def _entity_json(u: Understanding) -> str:
    ents = {k: getattr(u, k) for k in ("service", "office", "reference") if getattr(u, k)}
    if u.start is not None and u.end is not None:
        ents.update(start=u.start.isoformat(), end=u.end.isoformat())
    return json.dumps(ents, ensure_ascii=False) if ents else ""


def _open_now(office: Office, now: datetime) -> bool:
    local = now.astimezone(office.tz)
    if office.closed_on(local.date()):
        return False
    return any(r.start <= local.time() < r.end for r in office.hours_on(local.date()))

