"""Building blocks the flows share: buttons, the wish (service, office, time), offering and
taking a slot, identifying an existing appointment, showing one.

Flows in `actions/` call these through `assistant.plugin`; each takes the `Turn` of the turn and
works on the part of the task it needs (`turn.task_as(SlotTask)` for offering a slot,
`LookupTask` for identifying an appointment); a block for any task works on the base `Task`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.booking import availability, check, references
from assistant.booking import book as booking
from assistant.booking.appointments import EMAIL, normalize_phone
from assistant.booking.slots import Slot, holiday_name
from assistant.dialogue import answers
from assistant.dialogue.slot_choice import _day_under_discussion

# the flows pick slots through `blocks` (plugin API): re-exported
from assistant.dialogue.slot_choice import match_slot as match_slot
from assistant.dialogue.slot_choice import slot_index as slot_index
from assistant.dialogue.tasks import Contact, LookupTask, PersonTask, SlotRef, SlotTask, Task
from assistant.dialogue.turn import Turn
from assistant.dialogue.understanding import Understanding
from assistant.i18n import day as i18n_day
from assistant.i18n import t, when, when_short
from assistant.messages import Button
from assistant.nlu.spoken import normalize_spoken
from assistant.nlu.timeparse import extract as extract_times
from assistant.values import AppointmentView

if TYPE_CHECKING:
    from assistant.config import Office, Service


# -- buttons ------------------------------------------------------------------------------------


def menu(turn: Turn, short: bool = False) -> list[Button]:
    items = [("menu.book", "/book_appointment"), ("menu.reschedule", "/reschedule_appointment"),
             ("menu.cancel", "/cancel_appointment"), ("menu.check", "/check_appointment")]
    if not short:
        items += [("menu.info", "/ask_service_info"), ("menu.hours", "/ask_opening_hours"),
                  ("menu.video", "/request_video_call")]
    return [turn.button(k, p) for k, p in items]


def yes_no(turn: Turn) -> list[Button]:
    return [turn.button("button.yes", "/affirm"), turn.button("button.no", "/deny")]


def range_payload(start: datetime, end: datetime) -> str:
    return f'/inform{{"start": "{start.isoformat()}", "end": "{end.isoformat()}"}}'


def time_buttons(turn: Turn) -> list[Button]:
    now = turn.now.astimezone(turn.ctx.config.offices[0].tz)
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
    week_end = monday + timedelta(days=6, hours=23, minutes=59, seconds=59)
    return [
        turn.button("time.asap", range_payload(now, now + timedelta(days=14))),
        turn.button("time.this_week", range_payload(now, week_end)),
        turn.button("time.next_week", range_payload(monday + timedelta(days=7),
                                                    week_end + timedelta(days=7))),
    ]


def service_choices(turn: Turn) -> list[str]:
    task = turn.task
    video = task is not None and task.mode == "video"
    office = turn.ctx.config.office((task.office if task else None) or "")
    return [s.id for s in turn.ctx.config.services
            if (not video or s.video) and (office is None or s.id in office.services)]


def office_choices(turn: Turn) -> list[Office]:
    task = turn.task
    return turn.ctx.config.offices_for((task.service if task else None) or "", turn.msg.channel)


def phone_listing(turn: Turn, office: Office | None = None) -> str:
    offices = [office] if office else turn.ctx.config.offices
    return "\n".join(f"• {o.name.get(turn.lang)}: {o.phone}" for o in offices if o.phone)


# -- the wish -----------------------------------------------------------------------------------


async def answer_aside(turn: Turn, meaning: Understanding, intent: str) -> None:
    """Answer a side question asked beside an answer ("Für einen Reisepass. Brauche ich ein
    Foto?") by the flow that answers `intent`, if one is enabled; the task goes on after."""
    flow = next((f for f in turn.flows.values() if f.side and intent in f.intents), None)
    if flow is not None:
        await flow.respond(turn, Understanding(text=meaning.text, intent=intent, confidence=1.0,
                                               service=meaning.service, office=meaning.office))


def absorb(turn: Turn, meaning: Understanding) -> bool:
    """Take service, office and time from the message into the task; True if any changed.
    A change invalidates offered slots and the choice ("lieber Donnerstag")."""
    task, cfg = turn.task, turn.ctx.config
    assert task is not None
    changed = False
    if meaning.service and meaning.service != task.service and cfg.service(meaning.service):
        task.service = meaning.service
        turn.learn(service=meaning.service)
        changed = True
    if meaning.office and meaning.office != task.office and cfg.office(meaning.office):
        if isinstance(task, SlotTask) and task.chosen and not meaning.has_time:
            # "gleiche Zeit, aber in Riesa"
            task.start = task.end = task.chosen.start
        elif isinstance(task, SlotTask) and isinstance(task, LookupTask) and (
                task.current_start is not None and not meaning.has_time):
            task.start = task.end = task.current_start  # a move "nach Riesa": its time there
        task.office = meaning.office
        turn.learn(office=meaning.office)
        changed = True
    if meaning.has_time and isinstance(task, SlotTask):
        assert meaning.start is not None and meaning.end is not None
        day = _day_under_discussion(task)
        one_day = meaning.start.astimezone(turn.now.tzinfo).date() == meaning.end.astimezone(
            turn.now.tzinfo).date()
        if one_day and day is not None and not answers.names_a_day(meaning.text):
            # "später am selben Tag, gegen 11?", "um 10 dann", "lieber nachmittags": the
            # day being discussed
            local = day.astimezone(turn.now.tzinfo)
            a, b = meaning.start.astimezone(local.tzinfo), meaning.end.astimezone(local.tzinfo)
            meaning.start = local.replace(hour=a.hour, minute=a.minute, second=a.second,
                                    microsecond=0)
            meaning.end = local.replace(hour=b.hour, minute=b.minute, second=b.second,
                                  microsecond=0)
        task.start, task.end, task.daily = meaning.start, meaning.end, meaning.daily
        if task.flow == "reschedule" and len(meaning.times) > 1 and answers.names_a_day(
                meaning.times[-1][2]):  # "von Donnerstag auf Freitag" (not "… to the afternoon")
            task.start, task.end = meaning.times[-1][0], meaning.times[-1][1]
        turn.learn(start=meaning.start, end=meaning.end)
        changed = True
    if meaning.reference and isinstance(task, LookupTask) and not task.appointment_id:
        task.reference = meaning.reference
    if changed:
        if isinstance(task, SlotTask):
            task.offered = []
            task.chosen = None
        if task.step in {"confirm", "change"} and task.flow == "reschedule":
            task.step = "time"
    return changed


def day_relative(turn: Turn, meaning: Understanding) -> bool:
    """"Dann am Tag davor, geht das?", "the day after?": that day, whole, relative to the day
    under discussion; True if the wish changed."""
    task = turn.task
    days = answers.relative_day(meaning.text)
    if not isinstance(task, SlotTask) or days is None or meaning.has_time:
        return False
    day = _day_under_discussion(task)
    if day is None:
        return False
    local = day.astimezone(turn.now.tzinfo) + timedelta(days=days)
    task.start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    task.end = local.replace(hour=23, minute=59, second=59, microsecond=0)
    task.offered, task.chosen, task.daily = [], None, None
    return True


async def release(turn: Turn) -> None:
    """Give back a held slot."""
    task = turn.task
    if isinstance(task, SlotTask) and task.hold:
        token, task.hold = task.hold, None
        await booking.release(turn.ctx, token)


# -- offering and taking a slot -------------------------------------------------------------------


def _slot_ref(s: Slot) -> SlotRef:
    return SlotRef(office=s.office_id, start=s.start, end=s.end)


async def offer(turn: Turn, service: Service, office: Office) -> None:
    """Search free slots in the wish's window and offer them (or take the exact one asked for)."""
    task, ctx = turn.task_as(SlotTask), turn.ctx
    assert task.start is not None and task.end is not None
    frm, to = task.start, task.end
    latest = turn.now + timedelta(days=ctx.config.booking.horizon_days)
    if to < turn.now or frm > latest:
        # "am 20.11." (past) or "im Mai" (beyond what can be booked): say so, ask again. A date
        # of the last four weeks read as next year's ("am 20.11." on the 23rd) was a slip.
        year_ago = frm.astimezone(office.tz).date().replace(year=frm.year - 1) if not (
            frm.month == 2 and frm.day == 29) else None
        slip = year_ago is not None and timedelta(0) < (
            turn.now.astimezone(office.tz).date() - year_ago) <= timedelta(days=28)
        past = to < turn.now or slip
        shown = year_ago if slip and year_ago else frm.astimezone(office.tz).date()
        turn.say("slot.in_past" if past else "slot.beyond_horizon",
                 day=i18n_day(shown, turn.lang),
                 last=i18n_day(latest.astimezone(office.tz).date(), turn.lang))
        task.start = task.end = task.daily = None
        task.offered = []
        from assistant.dialogue.flow import advance  # the flow asks its own time question

        await advance(turn)
        return
    result = await availability.offer(ctx, service.id, office.id, frm, to,
                                      channel=turn.msg.channel, daily=task.daily)
    task.step = "slot"
    slots = result.slots
    task.offered = [_slot_ref(s) for s in slots]
    exact = [i for i, s in enumerate(slots, 1)
             if frm == to and s.start == frm and s.office_id == office.id]
    if exact:  # "Donnerstag 14 Uhr", "gleiche Zeit, aber in Riesa": free, so take it
        turn.say("slot.exact_free", when=when(frm.astimezone(office.tz), turn.lang),
                 office=office.name.get(turn.lang))
        await take_slot(turn, exact[0])
        return
    if frm == to and slots and result.exact:  # "um 14 Uhr": that time is not among them
        local = frm.astimezone(office.tz)
        ranges = [] if office.closed_on(local.date()) or holiday_name(local.date()) else (
            office.hours_on(local.date()))
        if not any(r.start <= local.time() < r.end for r in ranges):
            turn.say("slot.outside_hours", office=office.name.get(turn.lang),
                     day=i18n_day(local.date(), turn.lang), time=f"{local:%H:%M}",
                     hours=", ".join(f"{r.start:%H:%M}–{r.end:%H:%M}" for r in ranges))
        else:
            turn.say("slot.none_in_window")
    if not slots and not result.other_offices:
        task.start = task.end = None
        task.step = "time"
        turn.say("slot.none_at_all", office=office.name.get(turn.lang),
                 buttons=time_buttons(turn))
        return
    if not result.exact:
        why_not_free(turn, office, frm, to)
    buttons = [Button(when_short(s.start.astimezone(office.tz), turn.lang),
                      f'/choose{{"slot": {i}}}') for i, s in enumerate(slots, 1)]
    if result.other_offices and not result.exact:
        for s in result.other_offices:
            other = ctx.config.office(s.office_id)
            assert other is not None
            task.offered.append(_slot_ref(s))
            title = when_short(s.start.astimezone(other.tz), turn.lang)
            buttons.append(Button(f"{other.name.get(turn.lang)}: {title}",
                                  f'/choose{{"slot": {len(task.offered)}}}'))
    buttons.append(turn.button("button.other_time", '/change{"what": "time"}'))
    slots_data = [s.model_dump(mode="json") for s in task.offered]
    turn.say("slot.offer", buttons=buttons, office=office.name.get(turn.lang),
             slots=[{"start": s["start"], "office": s["office"]} for s in slots_data],
             listing=listing(turn), data={"slots": slots_data})


def why_not_free(turn: Turn, office: Office, frm: datetime, to: datetime) -> None:
    """Nothing free in the window asked for: say so, and say why when the office is closed
    that day (a closure, a holiday, no opening hours)."""
    day = frm.astimezone(office.tz).date()
    if to - frm <= timedelta(days=1) and to.astimezone(office.tz).date() == day:
        closure, holiday = office.closed_on(day), holiday_name(day)
        if closure or holiday or not office.hours_on(day):
            why = holiday or (closure.reason.get(turn.lang) if closure and closure.reason else "")
            turn.say("hours.closed_on_day", office=office.name.get(turn.lang),
                     day=i18n_day(day, turn.lang), reason=f" ({why})" if why else "")
            return
    turn.say("slot.none_in_window")


def listing(turn: Turn) -> str:
    lines = []
    for i, s in enumerate(turn.task_as(SlotTask).offered, 1):
        office = turn.ctx.config.office(s.office)
        assert office is not None
        lines.append(f"{i}. {when(s.start.astimezone(office.tz), turn.lang)} "
                     f"({office.name.get(turn.lang)})")
    return "\n".join(lines)


async def take_slot(turn: Turn, index: int) -> None:
    """Hold offered slot `index` (1-based) and go on; if it is gone, offer again."""
    from assistant.dialogue.flow import advance  # the flow registry lives with the engine

    task = turn.task_as(SlotTask)
    slot = task.offered[index - 1]
    token = await booking.hold(turn.ctx, slot.office, slot.start, slot.end,
                               service_id=task.service)
    if token is None:
        turn.say("slot.taken")
        task.offered = []
        await advance(turn)
        return
    await release(turn)
    task.hold, task.chosen, task.office = token, slot, slot.office
    if isinstance(task, PersonTask) and not turn.msg.text.startswith("/") and (
            name := answers.name_beside_choice(turn.msg.text)):
        task.name = name  # "2, auf Herbert Lange bitte"
        turn.learn(name=name)
    await advance(turn)


# -- existing appointments ------------------------------------------------------------------------


def show(turn: Turn, a: AppointmentView, key: str) -> None:
    office = turn.ctx.config.office(a.office)
    service = turn.ctx.config.service(a.service)
    assert office is not None and service is not None
    turn.say(key, reference=a.display_reference, service=service.name.get(turn.lang),
             office=office.name.get(turn.lang), address=office.address.one_line(),
             when=when(a.start.astimezone(office.tz), turn.lang),
             mode=t(f"mode.{a.mode}", turn.lang),
             data={"reference": a.display_reference, "appointment": a.to_api(False)})


def task_done(turn: Turn, a: AppointmentView) -> None:
    """A finished task: keep who the citizen is and which appointment it was (for "what do I
    need to bring?"), not the wishes that led to it (a next booking starts fresh)."""
    facts = turn.facts
    facts.last_done = turn.task.flow if turn.task is not None else None
    facts.service = facts.office = None
    facts.start = facts.end = None
    facts.last_service, facts.last_office, facts.last_start = a.service, a.office, a.start
    facts.reference = a.reference


async def identify(turn: Turn) -> AppointmentView | None:
    """Find the appointment the task names by reference and proof, asking for what is
    missing; None while it is not (yet) found, with the question or answer already said."""
    task, ctx = turn.task_as(LookupTask), turn.ctx
    if not task.reference:
        task.step = "reference"
        turn.say("manage.ask_reference")
        return None
    contact = turn.msg.verified_contact
    if not task.proof and not contact:
        task.step = "proof"
        turn.say("manage.ask_proof", reference=references.display(task.reference))
        return None
    found = await check.lookup(ctx, task.reference, task.proof, turn.origin(),
                               verified_contact=contact, log_check=task.flow == "check")
    if found.throttled:  # the same answer whether the name was right or not
        turn.state.task = None
        turn.say("manage.locked", listing=phone_listing(turn),
                 buttons=[turn.button("menu.human", "/request_human")])
        return None
    if found.appointment is None and contact and not task.proof:
        task.step = "proof"  # not booked from this number: ask for the name instead
        turn.say("manage.ask_proof", reference=references.display(task.reference))
        return None
    if found.appointment is not None and found.appointment.status == "cancelled":
        show(turn, found.appointment, "manage.found_cancelled")
        turn.state.task = None
        turn.say("menu.anything_else", buttons=menu(turn))
        return None
    if found.appointment is None and task.proof_guessed:
        # the name was a guess from the words around the code: ask for it, say nothing else
        task.proof, task.proof_guessed, task.step = None, False, "proof"
        turn.say("manage.ask_proof", reference=references.display(task.reference))
        return None
    if found.appointment is None or found.appointment.status != "booked":
        task.proof_tried = task.proof  # kept for the corrected code ("sorry, typo: PBK-U9C")
        task.reference_tried, task.reference, task.proof = task.reference, None, None
        task.step = "reference"
        task.tries += 1
        turn.say("manage.not_found", buttons=[turn.button("menu.human", "/request_human")]
                 if task.tries >= 2 else [])
        return None
    a = found.appointment
    task.appointment_id = a.id
    task.current_start = a.start
    task.service = a.service
    task.office = task.office or a.office
    if isinstance(task, SlotTask) and task.office != a.office and (not task.start or (
            task.end is not None and task.start <= a.start <= task.end)):
        task.start = task.end = a.start  # "nach Riesa verlegen", "Friday, but in Coswig": same time
    turn.learn(reference=task.reference, proof=task.proof, last_service=a.service,
               last_office=a.office, last_start=a.start)
    show(turn, a, "manage.found")
    return a


EARLIER = re.compile(r"\b(früher|frueher|eher|zeitiger|earlier|sooner)\b", re.I)
_LATER = re.compile(r"\b(später|spaeter|later)\b", re.I)


def search_earlier(turn: Turn, before: datetime) -> None:
    """Search from now until just before `before` (the appointment or the first offer)."""
    task = turn.task_as(SlotTask)
    task.start, task.end = turn.now, before - timedelta(minutes=5)
    task.offered, task.chosen = [], None


def earlier_or_later(turn: Turn, meaning: Understanding, before: datetime | None) -> bool:
    """"Geht auch früher?" / "anything later?" without a time: search before `before` (the
    appointment or the first offered slot) or after the last offered one. True if it asked."""
    task = turn.task
    if not isinstance(task, SlotTask) or meaning.has_time:
        return False
    if EARLIER.search(meaning.text) and before is not None:
        search_earlier(turn, before)
        return True
    if _LATER.search(meaning.text) and task.offered:
        last = task.offered[-1].start
        task.start, task.end = last + timedelta(minutes=5), last + timedelta(days=14)
    else:
        return False
    task.offered, task.chosen = [], None
    return True


async def earliest_office(turn: Turn, service: Service, offices: list[Office]) -> Office | None:
    """Of `offices`, the one with the earliest free slot in the wish's window (as soon as
    possible when no time was given)."""
    task = turn.task_as(SlotTask)
    if task.start is None or task.end is None:
        task.start, task.end = turn.now, turn.now + timedelta(days=14)
    best: tuple[datetime, Office] | None = None
    for office in offices:
        slots = await availability.free_slots(turn.ctx, service.id, office.id, task.start,
                                              task.end, limit=1)
        if slots and (best is None or slots[0].start < best[0]):
            best = (slots[0].start, office)
    return best[1] if best else None


def facts_in_request(turn: Turn, text: str) -> tuple[str | None, Contact | None]:
    """The name and the contact a booking request gives among its other facts ("Schmieder,
    Petra, 0152 2345 6789 – Meldebescheinigung – Coswig – Freitag"): services, offices, times,
    codes, phone numbers and e-mail addresses are blanked out before looking for a name."""
    contact = None
    if m := EMAIL.search(text):
        contact = Contact(email=m.group(0).lower())
    else:
        for candidate in re.findall(r"\+?\d[\d\s/()-]{6,}\d", text):
            if phone := normalize_phone(candidate):
                contact = Contact(phone=phone)
                break
    blanked = re.sub(r"[\w.+-]+@[\w.-]+|\+?\d[\d\s/()-]{4,}\d",
                     lambda m: " " * len(m.group()), text)
    nlu = turn.ctx.nlu
    spans = [(m.start, m.end) for m in (nlu.resolver.scan_lenient(blanked) if nlu else [])]
    spans += [(m.start(), m.end()) for m in references.PATTERN.finditer(blanked)
              if any(c.isdigit() for c in m.group())]  # "Kunath" has the shape of a code
    for tr in extract_times(normalize_spoken(blanked, turn.lang), turn.now, turn.lang):
        at = blanked.find(tr.text)
        if at >= 0:
            spans.append((at, at + len(tr.text)))
    for start, end in spans:
        blanked = blanked[:start] + "." + " " * (end - start - 1) + blanked[end:]
    return answers.name_among_facts(blanked), contact


def proof_in(turn: Turn, text: str) -> str | None:
    """The last name given beside a reference code, never an office's or service's name."""
    nlu = turn.ctx.nlu
    for m in reversed(nlu.resolver.scan(text) if nlu else []):
        text = text[:m.start] + " " * (m.end - m.start) + text[m.end:]
    return answers.proof_beside_code(text)


def new_task(turn: Turn, flow: str, **values: Any) -> Task:
    """Start a task in its flow's model, carrying over what the citizen already told us."""
    facts = turn.facts
    model = turn.flows[flow].state_model if flow in turn.flows else Task
    task = model(flow=flow, started=turn.now, turns=1, **values)
    if isinstance(task, LookupTask):
        task.reference = facts.reference
        task.proof = facts.proof or (facts.name.split()[-1] if facts.name else None)
        task.current_start = facts.last_start  # "later the same day" right after a check
    else:
        if isinstance(task, SlotTask):
            task.service, task.office = facts.service, facts.office
            task.start, task.end = facts.start, facts.end
        if isinstance(task, PersonTask):
            task.name = facts.name
            if facts.contact is not None:
                task.contact = facts.contact.model_copy()
    turn.state.task = task
    return task


def switch(turn: Turn, flow: str, **changes: Any) -> Task | None:
    """Carry the task under way over to `flow` (a video call becoming a video appointment),
    in that flow's model with the fields both have; None (no task) when it is not switched on."""
    task, target = turn.task, turn.flows.get(flow)
    if task is None or target is None:
        turn.state.task = None
        return None
    values = {**task.model_dump(exclude={"v"}), **changes, "flow": flow}
    turn.state.task = target.state_model.model_validate(values)
    return turn.state.task
