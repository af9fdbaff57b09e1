"""The dialogue engine: routes one citizen message and nothing else.

Per message: load the conversation (`state.py`), read the text (`reading.py`: locally when it
plainly answers the pending question, else Rasa), apply commands that work at every step
(zurück, abbrechen, neu starten, a person — also inside a sentence), let the task's flow take
the message as the answer to its question (`Flow.answer`), and only when it is none decide by
intent (`routing.py`): switch task, answer a side question and ask again, or say what is
possible. The flows themselves live in `actions/` and register through the `register_flows`
hook; this module imports none of them. All texts come from the message catalogs.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import InterfaceError, OperationalError

from assistant import metrics
from assistant.booking import references
from assistant.dialogue import answers, blocks, reading, routing
from assistant.dialogue.flow import Flow, advance
from assistant.dialogue.state import conversation
from assistant.dialogue.talk import ConversationState, Talk
from assistant.dialogue.tasks import LookupTask, PersonTask, SlotTask, Task
from assistant.dialogue.understanding import (
    BadPayload,
    Understanding,
    keyword_command,
    parse_payload,
)
from assistant.i18n import t
from assistant.messages import Incoming, Reply
from assistant.ratelimit import RateLimiter

if TYPE_CHECKING:
    from assistant.context import Context

log = logging.getLogger(__name__)

MAX_HISTORY = 12
# Replies that mean "I did not understand"; two in a row offer a way out.
MISUNDERSTOOD = {"fallback", "fallback.in_flow", "reask.not_understood", "name.invalid",
                 "contact.invalid", "slot.pick_one", "confirm.yes_or_no", "reference.invalid",
                 "clarify", "reask.proof"}
SMALL_TALK = {"greet", "goodbye", "thank"}


class Dialogue:
    def __init__(self, ctx: Context, flows: list[Flow]) -> None:
        self.ctx = ctx
        self.limiter = RateLimiter(ctx.config.server.rate_limit_per_minute)
        self.flows: dict[str, Flow] = {f.name: f for f in flows}
        self.by_intent: dict[str, Flow] = {i: f for f in flows for i in f.intents}
        self.models: dict[str, type[Task]] = {f.name: f.state_model for f in flows}

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
            try:
                return await self._handle(msg)
            except (OperationalError, InterfaceError, OSError):  # the database is away
                log.exception("dialogue: database unavailable on %s", msg.channel)
                metrics.ERRORS.inc()
                lang = msg.language if msg.language in ("de", "en") else "de"
                return [Reply(text=t("error.internal", lang), key="error.internal",
                              language=lang)]

    async def _handle(self, msg: Incoming) -> list[Reply]:
        ctx = self.ctx
        now = ctx.now()
        async with conversation(ctx.db, msg.channel, msg.sender, now) as turn:
            before = dict(turn.state)
            state = ConversationState.load(turn.state, self.models)
            idle = timedelta(hours=ctx.config.retention.conversation_idle_hours)
            if state.seen and now - state.seen > idle:  # a new visitor at the kiosk
                state = ConversationState(lang=state.lang)
            if state.lang is None:
                state.lang = msg.language if msg.language in ("de", "en") else (
                    ctx.config.default_language)
            talk = Talk(ctx, msg, state, now, flows=self.flows)
            text = (msg.text or "").strip()
            try:
                if not text:
                    talk.say("error.empty", buttons=blocks.menu(talk))
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
                talk.state = ConversationState.load(before, self.models)
                talk.replies = []
                talk.say("error.internal", buttons=blocks.menu(talk))
            talk.state.seen = now
            turn.state = talk.state.dump()
            await turn.save(now)
        return talk.replies

    # -- one message ---------------------------------------------------------------------------
    async def _turn(self, talk: Talk, text: str) -> None:
        try:
            u = parse_payload(text)
        except (BadPayload, ValueError):
            talk.say("error.unknown_payload")
            self._reask(talk, menu=True)
            return
        if u is None:
            u = reading.read_locally(talk, text) or await reading.read(talk, text)
        task = talk.task
        if task is not None:
            task.turns += 1
        command = u.command or (keyword_command(text) if not u.from_button else None)
        if command is None and not u.from_button:
            command = answers.command_in_sentence(text)
            if command == "human" and task is not None and task.step == "contact" and (
                    (given := answers.contact_answer(text, talk.lang)) and (
                        given.phone or given.email)):
                command = None  # "Rufen Sie mich an, wenn etwas ist: 0171 …" is the contact
            if command == "human":
                command, u.intent, u.confidence = None, "request_human", 1.0
                u.command = "human"  # asked for at any step: no reader of the question takes it
            if command == "abort" and task is not None and task.step == "contact" and (
                    not answers.aborts_strongly(text)):
                command = "skip"  # "nein, lieber nicht" to the optional contact question
            if command == "abort" and task is None and u.intent == "cancel_appointment":
                command = None
            if command == "abort" and task is not None and task.flow == "cancel" and re.search(
                    r"cancel|absag|stornier", text, re.I):
                command = None  # "yes please cancel it" confirms the cancellation
        if not u.from_button and (task is None or task.step not in {"name", "proof"}):
            name = answers.name_in_first_message(text)
            if name is None and _is_request(task, u):
                name, contact = blocks.facts_in_request(talk, text)
                if contact is not None:  # "Schmieder, Petra, 0152 2345 6789 – …"
                    talk.learn(contact=contact)
                    if isinstance(task, PersonTask) and task.contact is None:
                        task.contact, task.contact_asked = contact, True
            if name and len(name.split()) == 1:  # "Pfützner hier", "I'm Tom": no full name,
                talk.learn(proof=name)            # at most the last name for a look-up
                name = None
            if name:
                talk.learn(name=name)
                if isinstance(task, PersonTask) and task.flow == "book" and task.step not in {
                        "confirm", "change"}:  # at the summary it is a correction (steps.py)
                    task.name = name
        if command == "set_language":
            lang = u.args.get("language")
            talk.state.lang = lang if lang in ("de", "en") else talk.state.lang
            talk.say("lang.switched")
            self._reask(talk, menu=True)
            return
        if command in {"restart", "abort"}:
            await blocks.release(talk)
            talk.state.task, talk.state.history = None, []
            talk.say("flow.restarted" if command == "restart" else "flow.aborted",
                     buttons=blocks.menu(talk))
            return
        if command == "back":
            await self._back(talk)
            return
        if command == "skip" and (task is None or task.step != "contact"):
            u.intent, u.confidence = "deny", 1.0
        elif command:
            u.command = command
        if not u.from_button and answers.asks_to_repeat(text):  # "Wie bitte?"
            if task is not None:
                await advance(talk)
            else:
                talk.say("menu.what", buttons=blocks.menu(talk))
            return
        if task is not None and not u.from_button:
            talk.state.history = [*talk.state.history, task.model_copy(deep=True)][-MAX_HISTORY:]
        first = next((f for f in self.flows.values() if f.claims_first and not u.from_button
                      and f.claims(talk, u)), None)
        if first is not None:  # "Kann ich online bezahlen?": the office's own answer
            await first.respond(talk, u)
            if task is not None and first.reask:
                await advance(talk)
            return
        if task is not None and await self._step(talk, u):
            return
        await self._intent(talk, u)

    async def _step(self, talk: Talk, u: Understanding) -> bool:
        """Let the task's flow take the message; False hands it to intent handling."""
        task = talk.task
        assert task is not None
        flow = self.flows[task.flow]
        step = task.step
        if not u.from_button and "?" in u.text and not u.reference and (
                answers.asks_where(u.text) or answers.asks_opening_hours(u.text)):
            # "Wo ist das Bürgerbüro genau?", "How long is Riesa open on Tuesday?" at any step:
            # answered on the side, then the question under way is asked again
            if answers.asks_opening_hours(u.text):
                u.intent, u.confidence = "ask_opening_hours", 1.0
            else:
                u.intent, u.confidence = "ask_where", 1.0
            return False
        if not u.from_button and u.command != "human" and await flow.answer(talk, u):
            return True
        if routing.is_insult(u):
            return False  # answered calmly, with a way to a person
        target = self.by_intent.get(u.intent or "")
        sure = u.from_button or not routing.unsure(u, self.ctx.config.nlu)
        # In a booking, "move it" without a code means the booking being made: no switch.
        moving_this = task.flow == "book" and target is not None and (
            target.name == "reschedule" and not u.reference and not u.from_button)
        if target is not None and not target.side and target.name != task.flow and sure and not (
                step in {"name", "proof"} and not u.from_button and u.confidence < 0.8) and (
                not moving_this):
            return False
        if ((target is not None and target.side) or u.intent == "help") and (
                u.from_button or u.confidence >= 0.8) and (
                step not in {"name", "proof"} or u.from_button or "?" in u.text):
            return False
        if u.intent in SMALL_TALK and not u.has_entities and (
                u.from_button or u.confidence >= 0.8) and step not in {"name", "proof"}:
            return False
        await flow.step(talk, u)
        return True

    async def _intent(self, talk: Talk, u: Understanding) -> None:
        """Act on the intention of a message that answered no pending question."""
        task = talk.task
        if u.nlu_down and not u.from_button:
            if u.service and task is None:
                talk.say("nlu.down_short")
                await self._start(talk, self.flows["book"], u)
                return
            talk.say("nlu.down", buttons=blocks.menu(talk))
            return
        if routing.is_insult(u):
            talk.say("insult.calm")
            self._way_out_now(talk)
            return
        intent = routing.decide(talk, u, self.ctx.config.nlu)
        if intent == routing.UNSURE and not u.from_button and answers.asks_where(u.text):
            intent = "ask_where"  # "Und wo genau ist das Bürgerbüro?": a side flow claims it
        if intent == routing.UNSURE:
            if task is None:  # what it named is kept for whatever the citizen says next
                talk.learn(service=u.service, office=u.office, start=u.start, end=u.end)
            options = routing.clarify_buttons(talk, u)
            talk.say("clarify" if options else "fallback", buttons=[
                talk.button(k, p) for k, p in options] + [talk.button("menu.other", "/help")]
                if options else blocks.menu(talk))
            return
        if intent is not None:
            u.intent = intent  # the flow acts on the decided intention, not Rasa's first guess
        side = next((f for f in self.flows.values() if f.side and not u.from_button
                     and intent not in self.by_intent and f.claims(talk, u)), None)
        if intent == "inform" and task is None and side is None:
            intent = routing.guess_from_entities(talk, u)
            if intent is None:
                self._what_about(talk, u)
                return
        flow = side or self.by_intent.get(intent or "")
        if flow is not None and flow.side:
            await flow.respond(talk, u)
            if task is not None and flow.reask:
                await advance(talk)
            return
        if flow is not None:
            if task is None or task.flow != flow.name or u.from_button:
                if task is not None and task.flow != flow.name:
                    talk.say("flow.switched")
                await self._start(talk, flow, u)
            else:
                blocks.absorb(talk, u)
                await advance(talk)
            return
        if intent == "goodbye":
            await blocks.release(talk)
            talk.state.task = None
            talk.say("goodbye")
            return
        if intent == "greet":
            talk.say("greet", buttons=[] if task else blocks.menu(talk))
        elif intent == "thank":
            talk.say("thanks")
        elif intent == "help":
            talk.say("help", buttons=blocks.menu(talk))
        elif intent in {"affirm", "deny"} and task is None:
            talk.say("menu.what", buttons=blocks.menu(talk))
        elif task is not None:
            talk.say("fallback.in_flow")
        else:
            talk.say("fallback", buttons=blocks.menu(talk))
            return
        if task is not None:
            await advance(talk)

    def _what_about(self, talk: Talk, u: Understanding) -> None:
        """A code or an office alone: ask what to do with it."""
        if u.reference:
            payload = f'{{"reference": "{u.reference}"}}'
            talk.say("reference.what", buttons=[
                talk.button("menu.check", f"/check_appointment{payload}"),
                talk.button("menu.reschedule", f"/reschedule_appointment{payload}"),
                talk.button("menu.cancel", f"/cancel_appointment{payload}"),
            ])
        elif u.office and (office := self.ctx.config.office(u.office)):
            talk.say("office.what", office=office.name.get(talk.lang), buttons=[
                talk.button("menu.book", f'/book_appointment{{"office": "{u.office}"}}'),
                talk.button("menu.hours", f'/ask_opening_hours{{"office": "{u.office}"}}'),
            ])
        else:
            talk.say("fallback", buttons=blocks.menu(talk))

    # -- tasks ---------------------------------------------------------------------------------
    async def _start(self, talk: Talk, flow: Flow, u: Understanding) -> None:
        await blocks.release(talk)
        video = u.args.get("mode") == "video" or (
            flow.name == "book" and not u.from_button and "video" in u.text.casefold())
        task = blocks.new_task(talk, flow.name, mode="video" if video else "in_person")
        if isinstance(task, LookupTask):
            _take_reference(talk, task, u)
        if isinstance(task, PersonTask) and not u.from_button and answers.for_someone_else(
                u.text) and answers.name_for_relative(u.text) is None:
            task.name = None  # "my wife needs …": not the name we know from before
        blocks.absorb(talk, u)
        await flow.begin(talk, u)
        await advance(talk)

    async def _back(self, talk: Talk) -> None:
        task, history = talk.task, list(talk.state.history)
        target = None
        # The newest snapshot is the state before the current question; go one further.
        while history and task is not None:
            snap = history.pop()
            if snap.step != task.step:
                target = snap
                break
        talk.state.history = history
        if target is None or task is None:
            talk.say("back.nothing", buttons=blocks.menu(talk))
            return
        keep_slot = target.step in {"name", "contact", "confirm", "change", "proof"} and isinstance(
            target, SlotTask)
        hold = task.hold if keep_slot and isinstance(task, SlotTask) else None
        if not keep_slot:
            await blocks.release(talk)
        if isinstance(target, SlotTask):
            target.hold = hold
            if not hold:
                target.chosen = None
            if target.step in {"time", "office", "service"}:
                target.offered = []
        if target.step == "contact" and isinstance(target, PersonTask):
            target.contact_asked, target.contact = False, None  # ask the optional one again
        talk.state.task = target
        talk.say("back.ok")
        await advance(talk)

    def _reask(self, talk: Talk, menu: bool = False) -> None:
        """Repeat the pending question (after an error message), synchronously from state."""
        task = talk.task
        if task is not None and task.step:
            talk.say("reask." + task.step)
        elif menu:
            talk.say("menu.what", buttons=blocks.menu(talk))

    # -- a way out -----------------------------------------------------------------------------
    def _way_out_now(self, talk: Talk) -> None:
        task = talk.task
        office = self.ctx.config.office((task.office if task else None) or "")
        buttons = [talk.button("button.continue", "/back")] if task else []
        talk.say("way_out", listing=blocks.phone_listing(talk, office), buttons=[
            *buttons, talk.button("menu.human", "/request_human"), *blocks.menu(talk, short=True)])

    def _way_out(self, talk: Talk) -> None:
        """After two misunderstandings in a row, say so plainly and offer the likely next
        steps, a person, and the office's phone number."""
        if not any(r.key in MISUNDERSTOOD for r in talk.replies):
            talk.state.misses = 0
            return
        talk.state.misses += 1
        if talk.state.misses >= 2:
            talk.state.misses = 0
            self._way_out_now(talk)


def _take_reference(talk: Talk, task: LookupTask, u: Understanding) -> None:
    """The code (and the last name or contact beside it) a check, move or cancel starts with."""
    if u.reference:
        if u.reference != task.reference:
            task.proof, task.current_start = None, None
        task.reference = u.reference
        contact = answers.contact_answer(references.without_code(u.text), talk.lang)
        proof = ((contact.email or contact.phone) if contact else None) or blocks.proof_in(
            talk, u.text)
        if proof and not u.from_button:
            task.proof = proof
            task.proof_guessed = not (contact and (contact.email or contact.phone)) and (
                not answers.proof_stated(u.text))
    elif not u.from_button and not task.proof and re.search(
            r"\b(?=[\w-]*\d)(?=[\w-]*[a-z])[\w-]{5,}\b", u.text, re.I):
        # a mistyped code ("Code ABC-123, Brandt"): keep the name for the right code
        task.proof, task.proof_guessed = blocks.proof_in(talk, u.text), True


def _is_request(task: Task | None, u: Understanding) -> bool:
    """A message that asks for a booking (or adds to one just begun) with what it is about."""
    if task is not None and not (task.flow in {"book", "video"} and task.step in {
            None, "service", "office", "time"}):
        return False
    return bool(u.service or u.office or u.has_time) and u.intent not in {
        "check_appointment", "reschedule_appointment", "cancel_appointment"} and not u.reference


def _is_text(text: str) -> bool:
    """False for binary junk: control characters other than whitespace, or NUL bytes."""
    bad = sum(1 for c in text if (ord(c) < 32 and c not in "\n\r\t") or c == "\ufffd")
    return bad == 0
