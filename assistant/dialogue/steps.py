"""The questions flows share, each with its reader: which slot, the name, a contact, yes or no to
the summary, the reference code, the last name as proof.

`answer_*` takes the message as the answer to the question just asked when it fits (whatever
Rasa thought of it) and returns True; `step_*` handles a message that reached the step anyway.
Each works on the part of the task its question fills: the slot on a `SlotTask`, the name and
contact on a `PersonTask`, the code and last name on a `LookupTask`; the summary on any `Task`.
"""

from __future__ import annotations

import re

from assistant.booking import references
from assistant.dialogue import answers, blocks
from assistant.dialogue.flow import advance
from assistant.dialogue.tasks import Contact, LookupTask, PersonTask, SlotTask
from assistant.dialogue.turn import Turn
from assistant.dialogue.understanding import Understanding, parse_payload
from assistant.i18n import when
from assistant.nlu.spoken import normalize_spoken

SIDE_INTENTS = frozenset({"ask_service_info", "ask_opening_hours", "request_human", "help"})


async def answer_correction(turn: Turn, meaning: Understanding) -> bool:
    """At a later step, a new slot from the list or a new time ("doch lieber den späteren um
    09:00") changes the choice."""
    task = turn.task_as(SlotTask)
    if task.step not in {"name", "contact", "confirm", "change"} or not task.offered:
        return False
    if not (meaning.has_time or answers.ordinal_choice(normalize_spoken(meaning.text, turn.lang),
                                                 len(task.offered))):
        return False
    if not meaning.has_time and "?" in meaning.text and not answers.corrects_itself(meaning.text):
        return False  # "is the last name enough?": a question, not "the last one"
    index = blocks.slot_index(turn, meaning)
    if index is not None:
        await blocks.take_slot(turn, index)
        return True
    if meaning.has_time and task.step not in {"confirm", "change"}:
        blocks.absorb(turn, meaning)
        await advance(turn)
        return True
    return False


async def answer_time(turn: Turn, meaning: Understanding) -> bool:
    """A time for the search ("nächste Woche", "Donnerstag ab 14 Uhr"), or the number of one of
    the time buttons typed (SMS: "1" for as soon as possible)."""
    choice = meaning.choice if meaning.choice is not None else answers.ordinal_choice(
        normalize_spoken(meaning.text, turn.lang), 3)
    if not meaning.has_time and choice is not None:
        meaning.choice = choice
        buttons = blocks.time_buttons(turn)
        chosen = (parse_payload(buttons[meaning.choice - 1].payload)
                  if 1 <= meaning.choice <= len(buttons) else None)
        if chosen is not None:
            meaning.start, meaning.end = chosen.start, chosen.end
    if not meaning.has_time or meaning.service:
        return False
    blocks.absorb(turn, meaning)
    await advance(turn)
    return True


async def answer_slot(turn: Turn, meaning: Understanding) -> bool:
    index = blocks.slot_index(turn, meaning)
    task = turn.task_as(SlotTask)
    if index is None and not meaning.has_entities and answers.yes_no(meaning.text) is True and (
            task.start is not None and task.start == task.end):
        # "Geht es um 9?" … "ja, bitte": the offered slot at exactly the time asked for
        index = next((i for i, s in enumerate(task.offered, 1) if s.start == task.start), None)
    if index is None:
        return False
    await blocks.take_slot(turn, index)
    return True


async def step_slot(turn: Turn, meaning: Understanding) -> None:
    task = turn.task_as(SlotTask)
    if blocks.absorb(turn, meaning):
        await advance(turn)
        return
    index = blocks.slot_index(turn, meaning) if meaning.from_button else None
    if index is not None:
        await blocks.take_slot(turn, index)
        return
    if meaning.intent == "deny" or meaning.command == "change":
        task.start = task.end = None
        task.offered = []
        await advance(turn)
        return
    turn.say("slot.pick_one", n=len(task.offered))
    await advance(turn)


async def answer_name(turn: Turn, meaning: Understanding) -> bool:
    task = turn.task_as(PersonTask)
    text = meaning.text
    if answers.asks_whose_name(text):  # "Muss da der Name vom Kind rein oder meiner?"
        turn.say("name.whose")
        return True
    contact = answers.contact_answer(text, turn.lang)
    # "Anna Berger, 0151 2345678": the name and the contact in one answer
    text = re.sub(r"[\w.+-]+@[\w.-]+|\+?\d[\d\s/()-]*\d", " ", text).strip(" ,;")
    # "lehmann nee moment erst der vorname bernd lehmann": what follows the correction
    name = answers.name_in_sentence(answers.after_correction(text)) or (
        answers.name_in_sentence(text))
    if name and not meaning.service and not (meaning.intent in SIDE_INTENTS
            and "?" in meaning.text):
        task.name = name
        turn.learn(name=name)
        if contact is not None and (contact.phone or contact.email) and task.contact is None:
            task.contact = Contact(phone=contact.phone, email=contact.email)
            task.contact_asked = True
            turn.learn(contact=task.contact)
        await advance(turn)
        return True
    return False


async def step_name(turn: Turn, meaning: Understanding) -> None:
    task = turn.task_as(PersonTask)
    name = None if meaning.from_button else answers.name_in_sentence(meaning.text)
    chosen = task.chosen if isinstance(task, SlotTask) else None
    if name is None and chosen is not None and (answers.yes_no(meaning.text) is True or (
            meaning.office == chosen.office)) and (office := turn.ctx.config.office(chosen.office)):
        # "OK, Meissen is fine": the slot is held; say which, and ask for the name again
        turn.say("slot.exact_free", when=when(chosen.start.astimezone(office.tz), turn.lang),
                 office=office.name.get(turn.lang))
        turn.say("reask.name")
        return
    if name is None:
        turn.say("name.why" if "?" in meaning.text else "name.invalid")
        return
    task.name = name
    turn.learn(name=name)
    await advance(turn)


async def answer_contact(turn: Turn, meaning: Understanding) -> bool:
    task = turn.task_as(PersonTask)
    answer = answers.contact_answer(meaning.text, turn.lang)
    if answer is None:
        return False
    if answer.willing:
        turn.say("contact.which", buttons=[turn.button("button.skip", "/skip")])
        return True
    task.contact = Contact(phone=answer.phone, email=answer.email)
    if task.contact.given:
        turn.learn(contact=task.contact)
    await advance(turn)
    return True


async def step_contact(turn: Turn, meaning: Understanding) -> None:
    task = turn.task_as(PersonTask)
    task.contact_asked = True
    text = meaning.text.strip()
    if meaning.command == "skip" or (meaning.intent == "deny"
            and not any(c.isdigit() for c in text)):
        task.contact = Contact()
        await advance(turn)
        return
    turn.say("contact.invalid", buttons=[turn.button("button.skip", "/skip")])


# "Moment", "Halt", "warten Sie", "wait": the citizen is about to change something.
_HOLD_ON = re.compile(r"\b(moment|momentchen|halt|stopp?|warte\w*|wait|hold on|eigentlich"
                      r"|actually|doch nicht|falsch|wrong)\b", re.I)
_NO_CONTACT = re.compile(
    r"^\W*(?:ohne|without)\b(?! (?:termin|appointment))|\b(?:ohne|keine?n?|without|no)\s+"
    r"(?:handy|telefon|phone)?\s*(?:nummer|kontakt|contact|number|sms|e-?mail|erinnerung"
    r"|reminder)", re.I)


def _corrects_person(turn: Turn, task: PersonTask, meaning: Understanding) -> bool:
    """At the summary: a corrected name ("der Termin ist für meinen Mann, Falk Reichelt", "der
    Name ist falsch: Sandra Meyer"), a corrected contact ("richtig ist 0171 2345679", "lieber
    per Mail an …") or none ("ohne"); True if anything changed."""
    text, folded = meaning.text, meaning.text.casefold()
    changed = False
    if "name" in folded or answers.for_someone_else(text) or re.search(
            r"\b(hei(ß|ss)e|es ist|sondern)\b", folded):
        name = answers.name_in_sentence(text, whole_text_ok=False)
        if name is None and "name" in folded:  # "der Name ist falsch … : Sandra Meyer."
            whole = answers.name_in_sentence(text)
            name = whole if whole and len(whole.split()) >= 2 else None
        if name and len(name.split()) == 1 and task.name and len(task.name.split()) >= 2:
            name = f"{task.name.rsplit(' ', 1)[0]} {name}"  # "ich heiße Schmidt mit d t"
        if name and name != task.name:
            task.name = name
            turn.learn(name=name)
            changed = True
        elif re.search(r"name\w* (ändern|aendern|korrigieren|falsch|stimmt nicht)"
                       r"|(change|correct|wrong) (the |my )?name", folded):
            task.name = None
            return True
    if task.contact is not None and task.contact.given and _NO_CONTACT.search(folded):
        task.contact = Contact()  # "ohne", "keine Nummer": book without the contact
        return True
    if not (meaning.service or meaning.office):
        # "bitte an die Nummer 0171/2345678, nicht an diese": a new number is a correction,
        # whatever polite words come with it
        contact = answers.contact_answer(text, turn.lang)
        given = task.contact or Contact()
        if contact is not None and (contact.phone or contact.email) and (
                (contact.phone, contact.email) != (given.phone, given.email)):
            task.contact = Contact(phone=contact.phone, email=contact.email)
            turn.learn(contact=task.contact)
            changed = True
    return changed


async def answer_confirm(turn: Turn, meaning: Understanding) -> bool:
    """Yes or no to the summary; a corrected name; a new office or time ("gleiche Zeit, aber
    in Riesa"). A "ja" only confirms what was asked."""
    task = turn.task
    assert task is not None
    text = meaning.text
    if task.step == "change" and answers.yes_no(text) is True and not meaning.has_entities:
        task.step = "confirm"  # "ja" to "Was möchten Sie ändern?" confirms nothing: ask again
        await advance(turn)
        return True
    if isinstance(task, PersonTask) and _corrects_person(turn, task, meaning):
        task.step = "confirm"
        await advance(turn)
        return True
    if meaning.has_entities and isinstance(task, SlotTask):
        if blocks.absorb(turn, meaning):
            await blocks.release(turn)
            task.step = "slot" if task.flow == "book" else "time"
            await advance(turn)
            return True
        return False
    if meaning.has_entities:
        return False
    decision = answers.yes_no(text)
    if decision is True and meaning.intent != "deny" and not _HOLD_ON.search(text):
        await turn.flows[task.flow].confirm(turn)
        return True
    if decision is False and meaning.intent != "affirm" and len(text.split()) <= 3:
        meaning.intent = "deny"
    return False


async def step_confirm(turn: Turn, meaning: Understanding, intents: frozenset[str]) -> None:
    task = turn.task
    assert task is not None
    if blocks.absorb(turn, meaning):
        if task.flow == "book":
            task.step = "slot"
        await advance(turn)
        return
    # "Ja, bitte buchen" may come back as the flow's own intent: that is a yes, too — but
    # only when it says yes; "Moment, der Termin ist für meine Tochter …" is no yes.
    said_yes = answers.yes_no(meaning.text) is True or (
        len(meaning.text.split()) <= 3 and not _HOLD_ON.search(meaning.text))
    if task.step == "confirm" and not _HOLD_ON.search(meaning.text) and (
            (meaning.intent == "affirm" and answers.yes_no(meaning.text) is not False)
            or (meaning.intent in intents and said_yes)):
        await turn.flows[task.flow].confirm(turn)
        return
    if meaning.intent == "deny" or _HOLD_ON.search(meaning.text):
        if task.flow == "cancel":
            turn.state.task = None
            turn.say("cancel.kept", buttons=blocks.menu(turn))
            return
        buttons = [turn.button("change.time", '/change{"what": "time"}')]
        if task.flow == "book":
            buttons += [turn.button("change.office", '/change{"what": "office"}'),
                        turn.button("change.name", '/change{"what": "name"}')]
        buttons.append(turn.button("button.abort", "/abort"))
        task.step = "change"  # a "ja" now answers no question (see answer_confirm)
        turn.say("confirm.what_change", buttons=buttons)
        return
    if meaning.command == "change":
        what = meaning.args.get("what")
        if what == "name":
            if isinstance(task, PersonTask):
                task.name = None
        else:
            await blocks.release(turn)
            if isinstance(task, SlotTask):
                task.chosen = None
                task.offered = []
            if what == "office":
                task.office = None
            elif isinstance(task, SlotTask):
                task.start = task.end = None
            task.step = None
        await advance(turn)
        return
    turn.say("confirm.yes_or_no")
    await advance(turn)


async def answer_reference(turn: Turn, meaning: Understanding) -> bool:
    task = turn.task_as(LookupTask)
    code = meaning.reference or references.find(meaning.text)
    if not code and task.reference_tried and not meaning.has_entities:
        # "Ach, Schubert natürlich": a corrected last name for the code just tried
        proof = answers.name_in_sentence(meaning.text) or answers.proof_in_sentence(meaning.text)
        if proof and answers.yes_no(meaning.text) is not True:  # also "Nein, Schmidt mit dt"
            task.reference, task.proof, task.reference_tried = task.reference_tried, proof, None
            await advance(turn)
            return True
    if not code:
        return False
    task.reference = code
    proof = blocks.proof_in(turn, meaning.text)
    stated = proof is not None and answers.proof_stated(meaning.text)
    if stated and not task.proof:
        task.proof, task.proof_guessed = proof, False
    elif not task.proof and task.proof_tried and code != task.reference_tried:
        task.proof, task.proof_guessed = task.proof_tried, False  # given with the mistyped code
    elif proof and not task.proof:
        task.proof, task.proof_guessed = proof, True
    await advance(turn)
    return True


async def step_reference(turn: Turn, meaning: Understanding) -> None:
    task = turn.task_as(LookupTask)
    code = meaning.reference or references.find(meaning.text) or references.normalize(meaning.text)
    if not code:
        turn.say("reference.invalid", buttons=[turn.button("menu.human", "/request_human")])
        return
    task.reference = code
    await advance(turn)


async def answer_proof(turn: Turn, meaning: Understanding) -> bool:
    task = turn.task_as(LookupTask)
    if meaning.intent in SIDE_INTENTS and "?" in meaning.text:
        return False
    code = meaning.reference or references.find(meaning.text)
    if code and code != task.reference:
        # "moment, ich les nochmal vor: TCB TA7, Richter": the code read again, corrected
        task.reference = code
        turn.learn(reference=code)
    rest = references.without_code(meaning.text)
    contact = answers.contact_answer(rest, turn.lang)
    proof = (contact.phone or contact.email) if contact else None
    proof = proof or answers.name_in_sentence(rest) or answers.proof_in_sentence(rest)
    if not proof:
        if code and code == task.reference:
            await advance(turn)  # the new code; the last name is asked for again
            return True
        return False
    task.proof, task.proof_guessed = proof, False
    await advance(turn)
    return True


async def step_proof(turn: Turn, meaning: Understanding) -> None:
    task = turn.task_as(LookupTask)
    proof = meaning.text.strip()
    if meaning.from_button or len(proof) < 2 or answers.yes_no(proof) is not None:
        turn.say("reask.proof")
        return
    task.proof, task.proof_guessed = proof, False
    await advance(turn)


async def answer_step(turn: Turn, meaning: Understanding) -> bool:
    """The reader of the task's pending question among the shared ones (slot, summary,
    reference, last name); False for any other step."""
    task = turn.task
    assert task is not None
    reader = {"slot": answer_slot, "confirm": answer_confirm, "change": answer_confirm,
              "reference": answer_reference,
              "proof": answer_proof}.get(task.step or "")
    return await reader(turn, meaning) if reader else False


async def manage_step(turn: Turn, meaning: Understanding, intents: frozenset[str]) -> None:
    """What is left of a message in a reschedule or cancel task."""
    task = turn.task
    assert task is not None
    if task.step == "slot":
        await step_slot(turn, meaning)
    elif task.step in {"confirm", "change"}:
        await step_confirm(turn, meaning, intents)
    elif task.step == "reference":
        await step_reference(turn, meaning)
    elif task.step == "proof":
        await step_proof(turn, meaning)
    else:
        if not blocks.absorb(turn, meaning) and not meaning.from_button:
            turn.say("reask.not_understood")
        await advance(turn)
