"""Reading a free-text message: locally when it plainly answers the pending question, else by
asking Rasa (and, when Rasa is down, from what the text itself tells)."""

from __future__ import annotations

import re
from datetime import timedelta

from assistant import metrics
from assistant.booking import references
from assistant.dialogue import answers, blocks
from assistant.dialogue.tasks import SlotTask
from assistant.dialogue.turn import Turn
from assistant.dialogue.understanding import Understanding, keyword_command, number_choice
from assistant.nlu.client import NLUUnavailable
from assistant.nlu.language import detect_language
from assistant.nlu.spoken import normalize_spoken
from assistant.nlu.timeparse import resolve as resolve_time

# "nicht den Reisepass", "not the passport", "statt dem Pass": right before a service turned down
_TURNED_DOWN = re.compile(r"\b(?:nicht|not|kein\w*|statt|anstatt|instead of|rather than)\s+"
                          r"(?:(?:den|die|das|dem|der|einen|eine|ein|the|a|an|my|meinen|meine)\s+)?"
                          r"\W*$", re.I)
_ROUGHLY = re.compile(r"\b(around|about|approximately|approx\.?|roughly|ungefähr|ungefaehr|etwa"
                      r"|circa|ca\.)\s", re.I)


def read_locally(turn: Turn, text: str) -> Understanding | None:
    """A reply that plainly answers the pending question (a number, a time from the list, a
    name, a contact, yes or no, a code) and carries no command or switch of task is understood
    here, without asking Rasa; None when Rasa should decide."""
    task = turn.task
    if task is None or task.step is None or "?" in text or len(text) > 80:
        return None
    command = keyword_command(text)
    if command and not (command == "skip" and task.step == "contact"):  # "überspringen" answers it
        return None
    if answers.command_in_sentence(text) or answers.is_insult(text):
        return None
    step, lang = task.step, turn.lang
    spoken = normalize_spoken(text, lang)
    meaning = Understanding(text=text, choice=number_choice(spoken))
    nlu = turn.ctx.nlu
    if step in {"slot", "time"} and nlu is not None:
        for m in nlu.resolver.scan(spoken):  # "dann eben Riesa, 11:15": the office counts
            setattr(meaning, m.entity, getattr(meaning, m.entity) or m.value)
    fits = False
    if step == "slot" and isinstance(task, SlotTask) and task.offered:
        tr = resolve_time(spoken, turn.now, lang)
        if tr is not None:
            meaning.start, meaning.end = tr.start, tr.end
        fits = meaning.choice is not None or blocks.slot_index(turn, meaning) is not None
    elif step in {"name", "proof"}:
        fits = answers.plausible_name(text) is not None and (
            nlu is None or not nlu.resolver.scan(spoken))
    elif step == "contact":
        answer = answers.contact_answer(text, lang)
        fits = answer is not None and bool(answer.phone or answer.email
                                           or len(text.split()) <= 3)
    elif step == "confirm":
        fits = answers.yes_no(text) is not None and len(text.split()) <= 3
    elif step == "reference":
        meaning.reference = references.find(text) or references.find(spoken)
        fits = meaning.reference is not None and len(text.split()) <= 4
    if not fits:
        return None
    metrics.NLU_SKIPPED.inc()
    return meaning


async def read(turn: Turn, text: str) -> Understanding:
    """NLU for free text; when Rasa is down, what the text itself tells (codes, names of
    services and offices, times) so the conversation goes on with buttons."""
    ctx, task = turn.ctx, turn.task
    step = task.step if task else None
    spoken = normalize_spoken(text, turn.lang)
    meaning = Understanding(text=text, choice=number_choice(spoken))
    if step not in {"name", "proof", "contact", "reference"} and len(text) > 3:
        turn.state.lang = detect_language(text, previous=turn.lang)
    metrics.NLU_CALLS.inc()
    try:
        result = await ctx.nlu.parse(text, now=turn.now, lang_hint=turn.lang)
    except NLUUnavailable:
        metrics.NLU_FAILURES.inc()
        meaning.nlu_down = True
        for ent in ctx.nlu.resolver.scan(spoken):
            setattr(meaning, ent.entity, getattr(meaning, ent.entity) or ent.value)
        meaning.reference = references.find(text)
        tr = resolve_time(spoken, turn.now, turn.lang)
        if tr is not None:
            meaning.start, meaning.end, meaning.daily = tr.start, tr.end, tr.daily
        return meaning
    meaning.intent, meaning.confidence = result.intent, result.confidence
    meaning.ranking = list(result.ranking)
    for ent in result.entities:
        if ent.entity in ("service", "office", "reference") and not getattr(meaning, ent.entity):
            setattr(meaning, ent.entity, ent.value)
    services = result.values("service")
    if len(services) > 1 and answers.corrects_itself(text):
        # the first service named after "doch lieber" is meant, not one named after it
        meant = [m.value for m in ctx.nlu.resolver.scan_lenient(
            normalize_spoken(answers.after_correction(text), turn.lang)) if m.entity == "service"]
        meaning.service = meant[0] if meant else services[-1]
    elif len(services) > 1:
        # "ich mein den Perso, nicht den Reisepass": the service turned down is not meant
        wanted = [m.value for m in ctx.nlu.resolver.scan_lenient(spoken)
                  if m.entity == "service" and not _TURNED_DOWN.search(spoken[:m.start])]
        if wanted and len(set(wanted)) == 1:
            meaning.service = wanted[0]
    offices = result.values("office")
    if len(offices) > 1:  # "statt Coswig auch Radebeul", "von Meißen nach Riesa"
        meaning.office = offices[-1]
    if not meaning.service and (step == "service" or meaning.intent in {
            "book_appointment", "inform", "ask_service_info"}):
        # "ich möchte mich in Großenhain ummelden": an everyday word names the service when
        # the message is about booking one.
        services = {m.value for m in ctx.nlu.resolver.scan_lenient(spoken)
                    if m.entity == "service"}
        if len(services) == 1:
            meaning.service = services.pop()
    about_one = not meaning.reference and meaning.intent in {
        "check_appointment", "reschedule_appointment", "cancel_appointment"}
    if step == "service" or about_one or meaning.intent in {"book_appointment", "inform",
                                                             "ask_service_info"}:
        # "copies … certified", "das Auto muss abgemeldet werden": a service in own words; a
        # name matched word by word beats a guess from one word ("registration of my new
        # address" is no vehicle registration)
        own = ctx.nlu.resolver.service_in_own_words(spoken)
        named = {m.value for m in ctx.nlu.resolver.scan(spoken) if m.entity == "service"}
        if own and (not meaning.service or (len(services) <= 1 and meaning.service not in named)):
            meaning.service = own
    meaning.reference = meaning.reference or references.find(text) or references.find(spoken)
    if result.time is not None:
        tr = result.time
        meaning.start, meaning.end, meaning.daily = tr.start, tr.end, tr.daily
        if meaning.start == meaning.end and _ROUGHLY.search(text):
            # "around 10 am", "ungefähr um zehn": the times near it to choose from
            at = meaning.start
            meaning.start, meaning.end = at - timedelta(minutes=30), at + timedelta(minutes=60)
    meaning.times = [(tr.start, tr.end, tr.text) for tr in result.times]
    return meaning
