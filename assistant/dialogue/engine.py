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
from assistant.dialogue import answers, blocks, reading, routing, side_questions
from assistant.dialogue.flow import Flow, advance
from assistant.dialogue.state import conversation
from assistant.dialogue.tasks import LookupTask, PersonTask, SlotTask, Task
from assistant.dialogue.turn import ConversationState, Turn
from assistant.dialogue.understanding import (
    BadPayload,
    Understanding,
    keyword_command,
    parse_payload,
)
from assistant.i18n import t
from assistant.messages import Incoming, Reply
from assistant.nlu.dialect import with_umlauts
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
        async with conversation(ctx.db, msg.channel, msg.sender, now) as stored:
            before = dict(stored.state)
            state = ConversationState.load(stored.state, self.models)
            idle = timedelta(hours=ctx.config.retention.conversation_idle_hours)
            if state.seen and now - state.seen > idle:  # a new visitor at the kiosk
                state = ConversationState(lang=state.lang)
            if state.lang is None:
                state.lang = msg.language if msg.language in ("de", "en") else (
                    ctx.config.default_language)
            turn = Turn(ctx, msg, state, now, flows=self.flows)
            text = (msg.text or "").strip()
            if text and len(text) <= ctx.config.server.max_message_chars:
                text = (ctx.pm.hook.read_incoming(msg=msg) or text).strip()
            try:
                if not text:
                    turn.say("error.empty", buttons=blocks.menu(turn))
                elif len(text) > ctx.config.server.max_message_chars:
                    turn.say("error.too_long", max=ctx.config.server.max_message_chars)
                    self._reask(turn)
                elif not _is_text(text):
                    turn.say("error.not_text")
                    self._reask(turn)
                else:
                    await self._turn(turn, text)
                    self._way_out(turn)
            except Exception:
                log.exception("dialogue error on %s", msg.channel)
                metrics.ERRORS.inc()
                turn.state = ConversationState.load(before, self.models)
                turn.replies = []
                turn.say("error.internal", buttons=blocks.menu(turn))
            turn.state.seen = now
            stored.state = turn.state.dump()
            await stored.save(now)
        return turn.replies

    # -- one message ---------------------------------------------------------------------------
    async def _turn(self, turn: Turn, text: str) -> None:
        if not text.lstrip().startswith("/") and turn.lang != "en":
            text = with_umlauts(text)  # "nachste woche fur den fuhrerschein"
        if not text.lstrip().startswith("/") and answers.looks_like_question(text):
            text = text.rstrip(" .!") + "?"  # "was muss ich alles mitbringen" (SMS, phone)
        if (split := side_questions.split_off(self.flows, turn, text)) is not None:
            await self._both(turn, *split)
            return
        started, mark = turn.task is None, len(turn.replies)
        await self._one(turn, text)
        if started and turn.task is not None and not text.lstrip().startswith("/") and (
                "information" in self.flows) and (asked := answers.side_question_in(text)):
            # "… Can we come on Thursday? Also, does she really need a photo": both answered
            await side_questions.answer(self.flows, turn, asked, mark)

    async def _one(self, turn: Turn, text: str) -> None:
        try:
            meaning = parse_payload(text)
        except (BadPayload, ValueError):
            turn.say("error.unknown_payload")
            self._reask(turn, menu=True)
            return
        if meaning is None:
            meaning = reading.read_locally(turn, text) or await reading.read(turn, text)
        task = turn.task
        if task is not None:
            task.turns += 1
        command = meaning.command or (keyword_command(text) if not meaning.from_button else None)
        if command is None and not meaning.from_button:
            command = answers.command_in_sentence(text)
            if command == "human" and task is not None and task.step == "contact" and (
                    (given := answers.contact_answer(text, turn.lang)) and (
                        given.phone or given.email)):
                command = None  # "Rufen Sie mich an, wenn etwas ist: 0171 …" is the contact
            if command == "human":
                command, meaning.intent, meaning.confidence = None, "request_human", 1.0
                # asked for at any step: no reader of the question takes it
                meaning.command = "human"
            if command == "abort" and task is not None and task.step == "contact" and (
                    not answers.aborts_strongly(text)):
                command = "skip"  # "nein, lieber nicht" to the optional contact question
            if command == "abort" and task is None and meaning.intent == "cancel_appointment":
                command = None
            if command == "abort" and task is not None and task.flow == "cancel" and re.search(
                    r"cancel|absag|stornier", text, re.I):
                command = None  # "yes please cancel it" confirms the cancellation
        if not meaning.from_button and (task is None or task.step not in {"name", "proof"}):
            name = answers.name_in_first_message(text)
            if _is_request(task, meaning):  # "… my mobile is 0176 55512345" beside the name
                found, contact = blocks.facts_in_request(turn, text)
                name = name or found
                if contact is not None:  # "Schmieder, Petra, 0152 2345 6789 – …"
                    turn.learn(contact=contact)
                    if isinstance(task, PersonTask) and task.contact is None:
                        task.contact, task.contact_asked = contact, True
            if name and len(name.split()) == 1:  # "Pfützner hier", "I'm Tom": no full name,
                turn.learn(proof=name)            # at most the last name for a look-up
                name = None
            if name:
                turn.learn(name=name)
                if isinstance(task, PersonTask) and task.flow == "book" and task.step not in {
                        "confirm", "change"}:  # at the summary it is a correction (steps.py)
                    task.name = name
        if command == "set_language":
            lang = meaning.args.get("language")
            turn.state.lang = lang if lang in ("de", "en") else turn.state.lang
            turn.say("lang.switched")
            self._reask(turn, menu=True)
            return
        if command == "abort" and isinstance(task, LookupTask) and task.flow != "cancel" and (
                task.appointment_id is not None and "cancel" in self.flows
                and answers.cancels_appointment(text)):
            # moving it: "no, better just cancel it" - the appointment goes, not the question
            await blocks.release(turn)
            blocks.switch(turn, "cancel", step=None)
            await advance(turn)
            return
        if command in {"restart", "abort"}:
            await blocks.release(turn)
            turn.state.task, turn.state.history = None, []
            if command == "restart":  # a fresh start forgets the wishes, not who is writing
                facts = turn.facts
                facts.service = facts.office = facts.start = facts.end = None
                if not meaning.from_button and (meaning.service or meaning.office):
                    # "noch mal von vorn: eigentlich einen Reisepass in Meißen"
                    turn.say("flow.restarted")
                    meaning.command = None
                    await self._intent(turn, meaning)
                    return
            turn.say("flow.restarted" if command == "restart" else "flow.aborted",
                     buttons=blocks.menu(turn))
            return
        if command == "back":
            await self._back(turn)
            return
        if command == "skip" and (task is None or task.step != "contact"):
            meaning.intent, meaning.confidence = "deny", 1.0
        elif command:
            meaning.command = command
        if not meaning.from_button and answers.asks_to_repeat(text):  # "Wie bitte?"
            if task is not None:
                await advance(turn)
            else:
                turn.say("menu.what", buttons=blocks.menu(turn))
            return
        if task is not None and not meaning.from_button:
            turn.state.history = [*turn.state.history, task.model_copy(deep=True)][-MAX_HISTORY:]
        first = next((f for f in self.flows.values() if f.claims_first and not meaning.from_button
                      and f.claims(turn, meaning)), None)
        if first is not None:  # "Kann ich online bezahlen?": the office's own answer
            await first.respond(turn, meaning)
            if task is not None and first.reask:
                await advance(turn)
            return
        if task is not None and await self._step(turn, meaning):
            return
        await self._intent(turn, meaning)

    async def _step(self, turn: Turn, meaning: Understanding) -> bool:
        """Let the task's flow take the message; False hands it to intent handling."""
        task = turn.task
        assert task is not None
        flow = self.flows[task.flow]
        step = task.step
        if not meaning.from_button and "?" in meaning.text and not meaning.reference and (
                answers.asks_where(meaning.text) or answers.asks_opening_hours(meaning.text)):
            # "Wo ist das Bürgerbüro genau?", "How long is Riesa open on Tuesday?" at any step:
            # answered on the side, then the question under way is asked again
            if answers.asks_opening_hours(meaning.text):
                meaning.intent, meaning.confidence = "ask_opening_hours", 1.0
            else:
                meaning.intent, meaning.confidence = "ask_where", 1.0
            return False
        if not meaning.from_button and meaning.command != "human" and await flow.answer(turn,
                meaning):
            return True
        if routing.is_insult(meaning):
            return False  # answered calmly, with a way to a person
        target = self.by_intent.get(meaning.intent or "")
        sure = meaning.from_button or not routing.unsure(meaning, self.ctx.config.nlu)
        # In a booking, "move it" without a code means the booking being made: no switch.
        moving_this = task.flow == "book" and target is not None and (
            target.name == "reschedule" and not meaning.reference and not meaning.from_button)
        if target is not None and not target.side and target.name != task.flow and sure and not (
                step in {"name",
                        "proof"} and not meaning.from_button and meaning.confidence < 0.8) and (
                not moving_this):
            return False
        if ((target is not None and target.side) or meaning.intent == "help") and (
                meaning.from_button or meaning.confidence >= 0.8) and (
                step not in {"name", "proof"} or meaning.from_button or "?" in meaning.text):
            return False
        if meaning.intent in SMALL_TALK and not meaning.has_entities and (
                meaning.from_button or meaning.confidence >= 0.8) and step not in {"name", "proof"}:
            return False
        await flow.step(turn, meaning)
        return True

    async def _intent(self, turn: Turn, meaning: Understanding) -> None:
        """Act on the intention of a message that answered no pending question."""
        task = turn.task
        if meaning.nlu_down and not meaning.from_button:
            if meaning.service and task is None:
                turn.say("nlu.down_short")
                await self._start(turn, self.flows["book"], meaning)
                return
            turn.say("nlu.down", buttons=blocks.menu(turn))
            return
        if routing.is_insult(meaning):
            turn.say("insult.calm")
            self._way_out_now(turn)
            return
        intent = routing.decide(turn, meaning, self.ctx.config.nlu)
        if (intent == routing.UNSURE and not meaning.from_button
                and answers.asks_where(meaning.text)):
            intent = "ask_where"  # "Und wo genau ist das Bürgerbüro?": a side flow claims it
        if intent == routing.UNSURE:
            if task is None:  # what it named is kept for whatever the citizen says next
                turn.learn(service=meaning.service, office=meaning.office, start=meaning.start,
                        end=meaning.end)
            options = routing.clarify_buttons(turn, meaning)
            turn.say("clarify" if options else "fallback", buttons=[
                turn.button(k, p) for k, p in options] + [turn.button("menu.other", "/help")]
                if options else blocks.menu(turn))
            return
        if intent is not None:
            # the flow acts on the decided intention, not Rasa's first guess
            meaning.intent = intent
        side = next((f for f in self.flows.values() if f.side and not meaning.from_button
                     and intent not in self.by_intent and f.claims(turn, meaning)), None)
        if intent == "inform" and task is None and side is None:
            intent = routing.guess_from_entities(turn, meaning)
            if intent is None:
                self._what_about(turn, meaning)
                return
        flow = side or self.by_intent.get(intent or "")
        if flow is not None and flow.side:
            await flow.respond(turn, meaning)
            if task is not None and flow.reask:
                await advance(turn)
            return
        if flow is not None:
            if task is None or task.flow != flow.name or meaning.from_button:
                if task is not None and task.flow != flow.name:
                    turn.say("flow.switched")
                await self._start(turn, flow, meaning)
            else:
                blocks.absorb(turn, meaning)
                await advance(turn)
            return
        if intent == "goodbye":
            await blocks.release(turn)
            turn.state.task = None
            turn.say("goodbye")
            return
        if intent == "greet":
            turn.say("greet", buttons=[] if task else blocks.menu(turn))
        elif intent == "thank":
            turn.say("thanks")
        elif intent == "help":
            turn.say("help", buttons=blocks.menu(turn))
        elif intent in {"affirm", "deny"} and task is None:
            turn.say("menu.what", buttons=blocks.menu(turn))
        elif task is not None:
            turn.say("fallback.in_flow")
        else:
            turn.say("fallback", buttons=blocks.menu(turn))
            return
        if task is not None:
            await advance(turn)

    # -- an answer and a question in one message (side_questions.py) ------------------------
    async def _both(self, turn: Turn, answer: str, question: str) -> None:
        """The answer first (it may finish the task), then the question; the answer's next
        question, if any, is asked last."""
        mark = len(turn.replies)
        await self._turn(turn, answer)
        await side_questions.answer(self.flows, turn, question, mark)

    def _what_about(self, turn: Turn, meaning: Understanding) -> None:
        """A code or an office alone: ask what to do with it."""
        if meaning.reference:
            payload = f'{{"reference": "{meaning.reference}"}}'
            turn.say("reference.what", buttons=[
                turn.button("menu.check", f"/check_appointment{payload}"),
                turn.button("menu.reschedule", f"/reschedule_appointment{payload}"),
                turn.button("menu.cancel", f"/cancel_appointment{payload}"),
            ])
        elif meaning.office and (office := self.ctx.config.office(meaning.office)):
            turn.say("office.what", office=office.name.get(turn.lang), buttons=[
                turn.button("menu.book", f'/book_appointment{{"office": "{meaning.office}"}}'),
                turn.button("menu.hours", f'/ask_opening_hours{{"office": "{meaning.office}"}}'),
            ])
        else:
            turn.say("fallback", buttons=blocks.menu(turn))

    # -- tasks ---------------------------------------------------------------------------------
    async def _start(self, turn: Turn, flow: Flow, meaning: Understanding) -> None:
        await blocks.release(turn)
        video = meaning.args.get("mode") == "video" or (
            flow.name == "book" and not meaning.from_button and "video" in meaning.text.casefold())
        task = blocks.new_task(turn, flow.name, mode="video" if video else "in_person")
        if isinstance(task, LookupTask):
            _take_reference(turn, task, meaning)
        if isinstance(task, PersonTask) and not meaning.from_button and answers.for_someone_else(
                meaning.text) and answers.name_for_relative(meaning.text) is None:
            task.name = None  # "my wife needs …": not the name we know from before
        blocks.absorb(turn, meaning)
        await flow.begin(turn, meaning)
        await advance(turn)

    async def _back(self, turn: Turn) -> None:
        task, history = turn.task, list(turn.state.history)
        target = None
        # The newest snapshot is the state before the current question; go one further.
        while history and task is not None:
            snap = history.pop()
            if snap.step != task.step:
                target = snap
                break
        turn.state.history = history
        if target is None or task is None:
            turn.say("back.nothing", buttons=blocks.menu(turn))
            return
        keep_slot = target.step in {"name", "contact", "confirm", "change", "proof"} and isinstance(
            target, SlotTask)
        hold = task.hold if keep_slot and isinstance(task, SlotTask) else None
        if not keep_slot:
            await blocks.release(turn)
        if isinstance(target, SlotTask):
            target.hold = hold
            if not hold:
                target.chosen = None
            if target.step in {"time", "office", "service"}:
                target.offered = []
        if target.step == "contact" and isinstance(target, PersonTask):
            target.contact_asked, target.contact = False, None  # ask the optional one again
        turn.state.task = target
        turn.say("back.ok")
        await advance(turn)

    def _reask(self, turn: Turn, menu: bool = False) -> None:
        """Repeat the pending question (after an error message), synchronously from state."""
        task = turn.task
        if task is not None and task.step:
            turn.say("reask." + task.step)
        elif menu:
            turn.say("menu.what", buttons=blocks.menu(turn))

    # -- a way out -----------------------------------------------------------------------------
    def _way_out_now(self, turn: Turn) -> None:
        task = turn.task
        office = self.ctx.config.office((task.office if task else None) or "")
        buttons = [turn.button("button.continue", "/back")] if task else []
        turn.say("way_out", listing=blocks.phone_listing(turn, office), buttons=[
            *buttons, turn.button("menu.human", "/request_human"), *blocks.menu(turn, short=True)])

    def _way_out(self, turn: Turn) -> None:
        """After two misunderstandings in a row, say so plainly and offer the likely next
        steps, a person, and the office's phone number."""
        if not any(r.key in MISUNDERSTOOD for r in turn.replies):
            turn.state.misses = 0
            return
        turn.state.misses += 1
        if turn.state.misses >= 2:
            turn.state.misses = 0
            self._way_out_now(turn)


def _take_reference(turn: Turn, task: LookupTask, meaning: Understanding) -> None:
    """The code (and the last name or contact beside it) a check, move or cancel starts with."""
    if meaning.reference:
        if meaning.reference != task.reference:
            task.proof, task.current_start = None, None
        task.reference = meaning.reference
        contact = answers.contact_answer(references.without_code(meaning.text), turn.lang)
        proof = ((contact.email or contact.phone) if contact else None) or blocks.proof_in(
            turn, meaning.text)
        if proof and not meaning.from_button:
            task.proof = proof
            task.proof_guessed = not (contact and (contact.email or contact.phone)) and (
                not answers.proof_stated(meaning.text))
    elif not meaning.from_button and not task.proof and re.search(
            r"\b(?=[\w-]*\d)(?=[\w-]*[a-z])[\w-]{5,}\b", meaning.text, re.I):
        # a mistyped code ("Code ABC-123, Brandt"): keep the name for the right code
        task.proof, task.proof_guessed = blocks.proof_in(turn, meaning.text), True


def _is_request(task: Task | None, meaning: Understanding) -> bool:
    """A message that asks for a booking (or adds to one just begun) with what it is about."""
    if task is not None and not (task.flow in {"book", "video"} and task.step in {
            None, "service", "office", "time"}):
        return False
    return bool(meaning.service or meaning.office or meaning.has_time) and not meaning.reference \
        and meaning.intent not in {"check_appointment", "reschedule_appointment",
                                   "cancel_appointment"}


def _is_text(text: str) -> bool:
    """False for binary junk: control characters other than whitespace, or NUL bytes."""
    bad = sum(1 for c in text if (ord(c) < 32 and c not in "\n\r\t") or c == "\ufffd")
    return bad == 0
