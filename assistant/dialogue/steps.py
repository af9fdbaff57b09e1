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
from assistant.dialogue.talk import Talk
from assistant.dialogue.tasks import Contact, LookupTask, PersonTask, SlotTask
from assistant.dialogue.understanding import Understanding, parse_payload
from assistant.i18n import when
from assistant.nlu.spoken import normalize_spoken

SIDE_INTENTS = frozenset({"ask_service_info", "ask_opening_hours", "request_human", "help"})


async def answer_correction(talk: Talk, u: Understanding) -> bool:
    """At a later step, a new slot from the list or a new time ("doch lieber den späteren um
    09:00") changes the choice."""
    task = talk.task_as(SlotTask)
    if task.step not in {"name", "contact", "confirm", "change"} or not task.offered:
        return False
    if not (u.has_time or answers.ordinal_choice(normalize_spoken(u.text, talk.lang),
                                                 len(task.offered))):
        return False
    index = blocks.slot_index(talk, u)
    if index is not None:
        await blocks.take_slot(talk, index)
        return True
    if u.has_time and task.step not in {"confirm", "change"}:
        blocks.absorb(talk, u)
        await advance(talk)
        return True
    return False


async def answer_time(talk: Talk, u: Understanding) -> bool:
    """A time for the search ("nächste Woche", "Donnerstag ab 14 Uhr"), or the number of one of
    the time buttons typed (SMS: "1" for as soon as possible)."""
    choice = u.choice if u.choice is not None else answers.ordinal_choice(
        normalize_spoken(u.text, talk.lang), 3)
    if not u.has_time and choice is not None:
        u.choice = choice
        buttons = blocks.time_buttons(talk)
        chosen = (parse_payload(buttons[u.choice - 1].payload)
                  if 1 <= u.choice <= len(buttons) else None)
        if chosen is not None:
            u.start, u.end = chosen.start, chosen.end
    if not u.has_time or u.service:
        return False
    blocks.absorb(talk, u)
    await advance(talk)
    return True


async def answer_slot(talk: Talk, u: Understanding) -> bool:
    index = blocks.slot_index(talk, u)
    task = talk.task_as(SlotTask)
    if index is None and not u.has_entities and answers.yes_no(u.text) is True and (
            task.start is not None and task.start == task.end):
        # "Geht es um 9?" … "ja, bitte": the offered slot at exactly the time asked for
        index = next((i for i, s in enumerate(task.offered, 1) if s.start == task.start), None)
    if index is None:
        return False
    await blocks.take_slot(talk, index)
    return True


async def step_slot(talk: Talk, u: Understanding) -> None:
    task = talk.task_as(SlotTask)
    if blocks.absorb(talk, u):
        await advance(talk)
        return
    index = blocks.slot_index(talk, u) if u.from_button else None
    if index is not None:
        await blocks.take_slot(talk, index)
        return
    if u.intent == "deny" or u.command == "change":
        task.start = task.end = None
        task.offered = []
        await advance(talk)
        return
    talk.say("slot.pick_one", n=len(task.offered))
    await advance(talk)


async def answer_name(talk: Talk, u: Understanding) -> bool:
    task = talk.task_as(PersonTask)
    text = u.text
    contact = answers.contact_answer(text, talk.lang)
    # "Anna Berger, 0151 2345678": the name and the contact in one answer
    text = re.sub(r"[\w.+-]+@[\w.-]+|\+?\d[\d\s/()-]*\d", " ", text).strip(" ,;")
    name = answers.name_in_sentence(text)
    if name and not u.service and not (u.intent in SIDE_INTENTS and "?" in u.text):
        task.name = name
        talk.learn(name=name)
        if contact is not None and (contact.phone or contact.email) and task.contact is None:
            task.contact = Contact(phone=contact.phone, email=contact.email)
            task.contact_asked = True
            talk.learn(contact=task.contact)
        await advance(talk)
        return True
    return False


async def step_name(talk: Talk, u: Understanding) -> None:
    task = talk.task_as(PersonTask)
    name = None if u.from_button else answers.name_in_sentence(u.text)
    chosen = task.chosen if isinstance(task, SlotTask) else None
    if name is None and chosen is not None and (answers.yes_no(u.text) is True or (
            u.office == chosen.office)) and (office := talk.ctx.config.office(chosen.office)):
        # "OK, Meissen is fine": the slot is held; say which, and ask for the name again
        talk.say("slot.exact_free", when=when(chosen.start.astimezone(office.tz), talk.lang),
                 office=office.name.get(talk.lang))
        talk.say("reask.name")
        return
    if name is None:
        talk.say("name.why" if "?" in u.text else "name.invalid")
        return
    task.name = name
    talk.learn(name=name)
    await advance(talk)


async def answer_contact(talk: Talk, u: Understanding) -> bool:
    task = talk.task_as(PersonTask)
    answer = answers.contact_answer(u.text, talk.lang)
    if answer is None:
        return False
    if answer.willing:
        talk.say("contact.which", buttons=[talk.button("button.skip", "/skip")])
        return True
    task.contact = Contact(phone=answer.phone, email=answer.email)
    if task.contact.given:
        talk.learn(contact=task.contact)
    await advance(talk)
    return True


async def step_contact(talk: Talk, u: Understanding) -> None:
    task = talk.task_as(PersonTask)
    task.contact_asked = True
    text = u.text.strip()
    if u.command == "skip" or (u.intent == "deny" and not any(c.isdigit() for c in text)):
        task.contact = Contact()
        await advance(talk)
        return
    talk.say("contact.invalid", buttons=[talk.button("button.skip", "/skip")])


# "Moment", "Halt", "warten Sie", "wait": the citizen is about to change something.
_HOLD_ON = re.compile(r"\b(moment|momentchen|halt|stopp?|warte\w*|wait|hold on|eigentlich"
                      r"|actually|doch nicht|falsch|wrong)\b", re.I)
_NO_CONTACT = re.compile(
    r"^\W*(?:ohne|without)\b(?! (?:termin|appointment))|\b(?:ohne|keine?n?|without|no)\s+"
    r"(?:handy|telefon|phone)?\s*(?:nummer|kontakt|contact|number|sms|e-?mail|erinnerung"
    r"|reminder)", re.I)


def _corrects_person(talk: Talk, task: PersonTask, u: Understanding) -> bool:
    """At the summary: a corrected name ("der Termin ist für meinen Mann, Falk Reichelt", "der
    Name ist falsch: Sandra Meyer"), a corrected contact ("richtig ist 0171 2345679", "lieber
    per Mail an …") or none ("ohne"); True if anything changed."""
    text, folded = u.text, u.text.casefold()
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
            talk.learn(name=name)
            changed = True
        elif re.search(r"name\w* (ändern|aendern|korrigieren|falsch|stimmt nicht)"
                       r"|(change|correct|wrong) (the |my )?name", folded):
            task.name = None
            return True
    if task.contact is not None and task.contact.given and _NO_CONTACT.search(folded):
        task.contact = Contact()  # "ohne", "keine Nummer": book without the contact
        return True
    if not (u.service or u.office or u.has_time) and answers.yes_no(text) is not True:
        contact = answers.contact_answer(text, talk.lang)
        given = task.contact or Contact()
        if contact is not None and (contact.phone or contact.email) and (
                (contact.phone, contact.email) != (given.phone, given.email)):
            task.contact = Contact(phone=contact.phone, email=contact.email)
            talk.learn(contact=task.contact)
            changed = True
    return changed


async def answer_confirm(talk: Talk, u: Understanding) -> bool:
    """Yes or no to the summary; a corrected name; a new office or time ("gleiche Zeit, aber
    in Riesa"). A "ja" only confirms what was asked."""
    task = talk.task
    assert task is not None
    text = u.text
    if task.step == "change" and answers.yes_no(text) is True and not u.has_entities:
        task.step = "confirm"  # "ja" to "Was möchten Sie ändern?" confirms nothing: ask again
        await advance(talk)
        return True
    if isinstance(task, PersonTask) and _corrects_person(talk, task, u):
        task.step = "confirm"
        await advance(talk)
        return True
    if u.has_entities and isinstance(task, SlotTask):
        if blocks.absorb(talk, u):
            await blocks.release(talk)
            task.step = "slot" if task.flow == "book" else "time"
            await advance(talk)
            return True
        return False
    if u.has_entities:
        return False
    decision = answers.yes_no(text)
    if decision is True and u.intent != "deny" and not _HOLD_ON.search(text):
        await talk.flows[task.flow].confirm(talk)
        return True
    if decision is False and u.intent != "affirm" and len(text.split()) <= 3:
        u.intent = "deny"
    return False


async def step_confirm(talk: Talk, u: Understanding, intents: frozenset[str]) -> None:
    task = talk.task
    assert task is not None
    if blocks.absorb(talk, u):
        if task.flow == "book":
            task.step = "slot"
        await advance(talk)
        return
    # "Ja, bitte buchen" may come back as the flow's own intent: that is a yes, too — but
    # only when it says yes; "Moment, der Termin ist für meine Tochter …" is no yes.
    said_yes = answers.yes_no(u.text) is True or (
        len(u.text.split()) <= 3 and not _HOLD_ON.search(u.text))
    if task.step == "confirm" and not _HOLD_ON.search(u.text) and (
            (u.intent == "affirm" and answers.yes_no(u.text) is not False)
            or (u.intent in intents and said_yes)):
        await talk.flows[task.flow].confirm(talk)
        return
    if u.intent == "deny" or _HOLD_ON.search(u.text):
        if task.flow == "cancel":
            talk.state.task = None
            talk.say("cancel.kept", buttons=blocks.menu(talk))
            return
        buttons = [talk.button("change.time", '/change{"what": "time"}')]
        if task.flow == "book":
            buttons += [talk.button("change.office", '/change{"what": "office"}'),
                        talk.button("change.name", '/change{"what": "name"}')]
        buttons.append(talk.button("button.abort", "/abort"))
        task.step = "change"  # a "ja" now answers no question (see answer_confirm)
        talk.say("confirm.what_change", buttons=buttons)
        return
    if u.command == "change":
        what = u.args.get("what")
        if what == "name":
            if isinstance(task, PersonTask):
                task.name = None
        else:
            await blocks.release(talk)
            if isinstance(task, SlotTask):
                task.chosen = None
                task.offered = []
            if what == "office":
                task.office = None
            elif isinstance(task, SlotTask):
                task.start = task.end = None
            task.step = None
        await advance(talk)
        return
    talk.say("confirm.yes_or_no")
    await advance(talk)


async def answer_reference(talk: Talk, u: Understanding) -> bool:
    task = talk.task_as(LookupTask)
    code = u.reference or references.find(u.text)
    if not code and task.reference_tried and not u.has_entities:
        # "Ach, Schubert natürlich": a corrected last name for the code just tried
        proof = answers.name_in_sentence(u.text) or answers.proof_in_sentence(u.text)
        if proof and answers.yes_no(u.text) is None:
            task.reference, task.proof, task.reference_tried = task.reference_tried, proof, None
            await advance(talk)
            return True
    if not code:
        return False
    task.reference = code
    proof = blocks.proof_in(talk, u.text)
    stated = proof is not None and answers.proof_stated(u.text)
    if stated and not task.proof:
        task.proof, task.proof_guessed = proof, False
    elif not task.proof and task.proof_tried and code != task.reference_tried:
        task.proof, task.proof_guessed = task.proof_tried, False  # given with the mistyped code
    elif proof and not task.proof:
        task.proof, task.proof_guessed = proof, True
    await advance(talk)
    return True


async def step_reference(talk: Talk, u: Understanding) -> None:
    task = talk.task_as(LookupTask)
    code = u.reference or references.find(u.text) or references.normalize(u.text)
    if not code:
        talk.say("reference.invalid", buttons=[talk.button("menu.human", "/request_human")])
        return
    task.reference = code
    await advance(talk)


async def answer_proof(talk: Talk, u: Understanding) -> bool:
    task = talk.task_as(LookupTask)
    if u.intent in SIDE_INTENTS and "?" in u.text:
        return False
    code = u.reference or references.find(u.text)
    if code and code != task.reference:
        return False
    rest = references.without_code(u.text)
    contact = answers.contact_answer(rest, talk.lang)
    proof = (contact.phone or contact.email) if contact else None
    proof = proof or answers.name_in_sentence(rest) or answers.proof_in_sentence(rest)
    if not proof:
        return False
    task.proof, task.proof_guessed = proof, False
    await advance(talk)
    return True


async def step_proof(talk: Talk, u: Understanding) -> None:
    task = talk.task_as(LookupTask)
    proof = u.text.strip()
    if u.from_button or len(proof) < 2 or answers.yes_no(proof) is not None:
        talk.say("reask.proof")
        return
    task.proof, task.proof_guessed = proof, False
    await advance(talk)


async def answer_step(talk: Talk, u: Understanding) -> bool:
    """The reader of the task's pending question among the shared ones (slot, summary,
    reference, last name); False for any other step."""
    task = talk.task
    assert task is not None
    reader = {"slot": answer_slot, "confirm": answer_confirm, "change": answer_confirm,
              "reference": answer_reference,
              "proof": answer_proof}.get(task.step or "")
    return await reader(talk, u) if reader else False


async def manage_step(talk: Talk, u: Understanding, intents: frozenset[str]) -> None:
    """What is left of a message in a reschedule or cancel task."""
    task = talk.task
    assert task is not None
    if task.step == "slot":
        await step_slot(talk, u)
    elif task.step in {"confirm", "change"}:
        await step_confirm(talk, u, intents)
    elif task.step == "reference":
        await step_reference(talk, u)
    elif task.step == "proof":
        await step_proof(talk, u)
    else:
        if not blocks.absorb(talk, u) and not u.from_button:
            talk.say("reask.not_understood")
        await advance(talk)
