"""Reading a free-text message: locally when it plainly answers the pending question, else by
asking Rasa (and, when Rasa is down, from what the text itself tells)."""

from __future__ import annotations

import re
from datetime import timedelta

from assistant import metrics
from assistant.booking import references
from assistant.dialogue import answers, blocks
from assistant.dialogue.talk import Talk
from assistant.dialogue.tasks import SlotTask
from assistant.dialogue.understanding import Understanding, keyword_command, number_choice
from assistant.nlu.client import NLUUnavailable
from assistant.nlu.language import detect_language
from assistant.nlu.spoken import normalize_spoken
from assistant.nlu.timeparse import resolve as resolve_time

_ROUGHLY = re.compile(r"\b(around|about|approximately|approx\.?|roughly|ungefähr|ungefaehr|etwa"
                      r"|circa|ca\.)\s", re.I)


def read_locally(talk: Talk, text: str) -> Understanding | None:
    """A reply that plainly answers the pending question (a number, a time from the list, a
    name, a contact, yes or no, a code) and carries no command or switch of task is understood
    here, without asking Rasa; None when Rasa should decide."""
    task = talk.task
    if task is None or task.step is None or "?" in text or len(text) > 80:
        return None
    command = keyword_command(text)
    if command and not (command == "skip" and task.step == "contact"):  # "überspringen" answers it
        return None
    if answers.command_in_sentence(text) or answers.is_insult(text):
        return None
    step, lang = task.step, talk.lang
    spoken = normalize_spoken(text, lang)
    u = Understanding(text=text, choice=number_choice(spoken))
    nlu = talk.ctx.nlu
    if step in {"slot", "time"} and nlu is not None:
        for m in nlu.resolver.scan(spoken):  # "dann eben Riesa, 11:15": the office counts
            setattr(u, m.entity, getattr(u, m.entity) or m.value)
    fits = False
    if step == "slot" and isinstance(task, SlotTask) and task.offered:
        tr = resolve_time(spoken, talk.now, lang)
        if tr is not None:
            u.start, u.end = tr.start, tr.end
        fits = u.choice is not None or blocks.slot_index(talk, u) is not None
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
        u.reference = references.find(text) or references.find(spoken)
        fits = u.reference is not None and len(text.split()) <= 4
    if not fits:
        return None
    metrics.NLU_SKIPPED.inc()
    return u


async def read(talk: Talk, text: str) -> Understanding:
    """NLU for free text; when Rasa is down, what the text itself tells (codes, names of
    services and offices, times) so the conversation goes on with buttons."""
    ctx, task = talk.ctx, talk.task
    step = task.step if task else None
    spoken = normalize_spoken(text, talk.lang)
    u = Understanding(text=text, choice=number_choice(spoken))
    if step not in {"name", "proof", "contact", "reference"} and len(text) > 3:
        talk.state.lang = detect_language(text, previous=talk.lang)
    metrics.NLU_CALLS.inc()
    assert ctx.nlu is not None
    try:
        result = await ctx.nlu.parse(text, now=talk.now, lang_hint=talk.lang)
    except NLUUnavailable:
        metrics.NLU_FAILURES.inc()
        u.nlu_down = True
        for ent in ctx.nlu.resolver.scan(spoken):
            setattr(u, ent.entity, getattr(u, ent.entity) or ent.value)
        u.reference = references.find(text)
        tr = resolve_time(spoken, talk.now, talk.lang)
        if tr is not None:
            u.start, u.end, u.daily = tr.start, tr.end, tr.daily
        return u
    u.intent, u.confidence, u.ranking = result.intent, result.confidence, list(result.ranking)
    for ent in result.entities:
        if ent.entity in ("service", "office", "reference") and not getattr(u, ent.entity):
            setattr(u, ent.entity, ent.value)
    services = result.values("service")
    if len(services) > 1 and answers.corrects_itself(text):
        # the first service named after "doch lieber" is meant, not one named after it
        meant = [m.value for m in ctx.nlu.resolver.scan_lenient(
            normalize_spoken(answers.after_correction(text), talk.lang)) if m.entity == "service"]
        u.service = meant[0] if meant else services[-1]
    offices = result.values("office")
    if len(offices) > 1:  # "statt Coswig auch Radebeul", "von Meißen nach Riesa"
        u.office = offices[-1]
    if not u.service and (step == "service" or u.intent in {
            "book_appointment", "inform", "ask_service_info"}):
        # "ich möchte mich in Großenhain ummelden": an everyday word names the service when
        # the message is about booking one.
        services = {m.value for m in ctx.nlu.resolver.scan_lenient(spoken)
                    if m.entity == "service"}
        if len(services) == 1:
            u.service = services.pop()
    if step == "service" or u.intent in {"book_appointment", "inform", "ask_service_info"}:
        # "copies … certified", "das Auto muss abgemeldet werden": a service in own words; a
        # name matched word by word beats a guess from one word ("registration of my new
        # address" is no vehicle registration)
        own = ctx.nlu.resolver.service_in_own_words(spoken)
        named = {m.value for m in ctx.nlu.resolver.scan(spoken) if m.entity == "service"}
        if own and (not u.service or (len(services) <= 1 and u.service not in named)):
            u.service = own
    u.reference = u.reference or references.find(text) or references.find(spoken)
    if result.time is not None:
        u.start, u.end, u.daily = result.time.start, result.time.end, result.time.daily
        if u.start == u.end and _ROUGHLY.search(text):
            # "around 10 am", "ungefähr um zehn": the times near it to choose from
            u.start, u.end = u.start - timedelta(minutes=30), u.start + timedelta(minutes=60)
    u.times = [(tr.start, tr.end, tr.text) for tr in result.times]
    return u
