"""Building blocks the flows share: buttons, the wish (service, office, time), offering and
taking a slot, identifying an existing appointment, showing one.

Flows in `actions/` call these through `assistant.plugin`; each takes the `Talk` of the turn and
works on the part of the task it needs (`talk.task_as(SlotTask)` for offering a slot,
`LookupTask` for identifying an appointment); a block for any task works on the base `Task`.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from assistant.booking import availability, check, references
from assistant.booking import book as booking
from assistant.booking.slots import Slot, holiday_name
from assistant.dialogue import answers
from assistant.dialogue.talk import Talk
from assistant.dialogue.tasks import Contact, LookupTask, PersonTask, SlotRef, SlotTask, Task
from assistant.dialogue.understanding import Understanding
from assistant.i18n import day as i18n_day
from assistant.i18n import t, when, when_short
from assistant.messages import Button
from assistant.nlu.spoken import normalize_spoken
from assistant.nlu.timeparse import extract as extract_times
from assistant.views import AppointmentView

if TYPE_CHECKING:
    from assistant.config import Office, Service


# -- buttons ------------------------------------------------------------------------------------


def menu(talk: Talk, short: bool = False) -> list[Button]:
    items = [("menu.book", "/book_appointment"), ("menu.reschedule", "/reschedule_appointment"),
             ("menu.cancel", "/cancel_appointment"), ("menu.check", "/check_appointment")]
    if not short:
        items += [("menu.info", "/ask_service_info"), ("menu.hours", "/ask_opening_hours"),
                  ("menu.video", "/request_video_call")]
    return [talk.button(k, p) for k, p in items]


def yes_no(talk: Talk) -> list[Button]:
    return [talk.button("button.yes", "/affirm"), talk.button("button.no", "/deny")]


def range_payload(start: datetime, end: datetime) -> str:
    return f'/inform{{"start": "{start.isoformat()}", "end": "{end.isoformat()}"}}'


def time_buttons(talk: Talk) -> list[Button]:
    now = talk.now.astimezone(talk.ctx.config.offices[0].tz)
    monday = (now - timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0,
                                                            microsecond=0)
    week_end = monday + timedelta(days=6, hours=23, minutes=59, seconds=59)
    return [
        talk.button("time.asap", range_payload(now, now + timedelta(days=14))),
        talk.button("time.this_week", range_payload(now, week_end)),
        talk.button("time.next_week", range_payload(monday + timedelta(days=7),
                                                    week_end + timedelta(days=7))),
    ]


def service_choices(talk: Talk) -> list[str]:
    task = talk.task
    video = task is not None and task.mode == "video"
    office = talk.ctx.config.office((task.office if task else None) or "")
    return [s.id for s in talk.ctx.config.services
            if (not video or s.video) and (office is None or s.id in office.services)]


def office_choices(talk: Talk) -> list[Office]:
    task = talk.task
    return talk.ctx.config.offices_for((task.service if task else None) or "", talk.msg.channel)


def phone_listing(talk: Talk, office: Office | None = None) -> str:
    offices = [office] if office else talk.ctx.config.offices
    return "\n".join(f"• {o.name.get(talk.lang)}: {o.phone}" for o in offices if o.phone)


# -- the wish -----------------------------------------------------------------------------------


async def answer_aside(talk: Talk, u: Understanding, intent: str) -> None:
    """Answer a side question asked beside an answer ("Für einen Reisepass. Brauche ich ein
    Foto?") by the flow that answers `intent`, if one is enabled; the task goes on after."""
    flow = next((f for f in talk.flows.values() if f.side and intent in f.intents), None)
    if flow is not None:
        await flow.respond(talk, Understanding(text=u.text, intent=intent, confidence=1.0,
                                               service=u.service, office=u.office))


def absorb(talk: Talk, u: Understanding) -> bool:
    """Take service, office and time from the message into the task; True if any changed.
    A change invalidates offered slots and the choice ("lieber Donnerstag")."""
    task, cfg = talk.task, talk.ctx.config
    assert task is not None
    changed = False
    if u.service and u.service != task.service and cfg.service(u.service):
        task.service = u.service
        talk.learn(service=u.service)
        changed = True
    if u.office and u.office != task.office and cfg.office(u.office):
        if isinstance(task, SlotTask) and task.chosen and not u.has_time:
            # "gleiche Zeit, aber in Riesa"
            task.start = task.end = task.chosen.start
        elif isinstance(task, SlotTask) and isinstance(task, LookupTask) and (
                task.current_start is not None and not u.has_time):
            task.start = task.end = task.current_start  # a move "nach Riesa": its time there
        task.office = u.office
        talk.learn(office=u.office)
        changed = True
    if u.has_time and isinstance(task, SlotTask):
        assert u.start is not None and u.end is not None
        day = _day_under_discussion(task)
        one_day = u.start.astimezone(talk.now.tzinfo).date() == u.end.astimezone(
            talk.now.tzinfo).date()
        if one_day and day is not None and not answers.names_a_day(u.text):
            # "später am selben Tag, gegen 11?", "um 10 dann", "lieber nachmittags": the
            # day being discussed
            local = day.astimezone(talk.now.tzinfo)
            a, b = u.start.astimezone(local.tzinfo), u.end.astimezone(local.tzinfo)
            u.start = local.replace(hour=a.hour, minute=a.minute, second=a.second,
                                    microsecond=0)
            u.end = local.replace(hour=b.hour, minute=b.minute, second=b.second,
                                  microsecond=0)
        task.start, task.end, task.daily = u.start, u.end, u.daily
        if task.flow == "reschedule" and len(u.times) > 1 and answers.names_a_day(
                u.times[-1][2]):  # "von Donnerstag auf Freitag" (not "… to the afternoon")
            task.start, task.end = u.times[-1][0], u.times[-1][1]
        talk.learn(start=u.start, end=u.end)
        changed = True
    if u.reference and isinstance(task, LookupTask) and not task.appointment_id:
        task.reference = u.reference
    if changed:
        if isinstance(task, SlotTask):
            task.offered = []
            task.chosen = None
        if task.step in {"confirm", "change"} and task.flow == "reschedule":
            task.step = "time"
    return changed


def day_relative(talk: Talk, u: Understanding) -> bool:
    """"Dann am Tag davor, geht das?", "the day after?": that day, whole, relative to the day
    under discussion; True if the wish changed."""
    task = talk.task
    days = answers.relative_day(u.text)
    if not isinstance(task, SlotTask) or days is None or u.has_time:
        return False
    day = _day_under_discussion(task)
    if day is None:
        return False
    local = day.astimezone(talk.now.tzinfo) + timedelta(days=days)
    task.start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    task.end = local.replace(hour=23, minute=59, second=59, microsecond=0)
    task.offered, task.chosen, task.daily = [], None, None
    return True


def _day_under_discussion(task: SlotTask) -> datetime | None:
    """The day a bare clock time refers to: of the wish, the chosen slot or the appointment."""
    if task.start is not None and task.end is not None and (
            task.end - task.start) <= timedelta(days=1):
        return task.start
    if task.chosen is not None:
        return task.chosen.start
    if task.offered:  # "um elf" to a list: the first day shown
        return task.offered[0].start
    return task.current_start if isinstance(task, LookupTask) else None


async def release(talk: Talk) -> None:
    """Give back a held slot."""
    task = talk.task
    if isinstance(task, SlotTask) and task.hold:
        token, task.hold = task.hold, None
        await booking.release(talk.ctx, token)


# -- offering and taking a slot -------------------------------------------------------------------


def _slot_ref(s: Slot) -> SlotRef:
    return SlotRef(office=s.office_id, start=s.start, end=s.end)


async def offer(talk: Talk, service: Service, office: Office) -> None:
    """Search free slots in the wish's window and offer them (or take the exact one asked for)."""
    task, ctx = talk.task_as(SlotTask), talk.ctx
    assert task.start is not None and task.end is not None
    frm, to = task.start, task.end
    latest = talk.now + timedelta(days=ctx.config.booking.horizon_days)
    if to < talk.now or frm > latest:
        # "am 20.11." (past) or "im Mai" (beyond what can be booked): say so, ask again. A date
        # of the last four weeks read as next year's ("am 20.11." on the 23rd) was a slip.
        year_ago = frm.astimezone(office.tz).date().replace(year=frm.year - 1) if not (
            frm.month == 2 and frm.day == 29) else None
        slip = year_ago is not None and timedelta(0) < (
            talk.now.astimezone(office.tz).date() - year_ago) <= timedelta(days=28)
        past = to < talk.now or slip
        shown = year_ago if slip and year_ago else frm.astimezone(office.tz).date()
        talk.say("slot.in_past" if past else "slot.beyond_horizon",
                 day=i18n_day(shown, talk.lang),
                 last=i18n_day(latest.astimezone(office.tz).date(), talk.lang))
        task.start = task.end = task.daily = None
        task.offered = []
        from assistant.dialogue.flow import advance  # the flow asks its own time question

        await advance(talk)
        return
    result = await availability.offer(ctx, service.id, office.id, frm, to,
                                      channel=talk.msg.channel, daily=task.daily)
    task.step = "slot"
    slots = result.slots
    task.offered = [_slot_ref(s) for s in slots]
    exact = [i for i, s in enumerate(slots, 1)
             if frm == to and s.start == frm and s.office_id == office.id]
    if exact:  # "Donnerstag 14 Uhr", "gleiche Zeit, aber in Riesa": free, so take it
        talk.say("slot.exact_free", when=when(frm.astimezone(office.tz), talk.lang),
                 office=office.name.get(talk.lang))
        await take_slot(talk, exact[0])
        return
    if frm == to and slots and result.exact:  # "um 14 Uhr": that time is not among them
        local = frm.astimezone(office.tz)
        ranges = [] if office.closed_on(local.date()) or holiday_name(local.date()) else (
            office.hours_on(local.date()))
        if not any(r.start <= local.time() < r.end for r in ranges):
            talk.say("slot.outside_hours", office=office.name.get(talk.lang),
                     day=i18n_day(local.date(), talk.lang), time=f"{local:%H:%M}",
                     hours=", ".join(f"{r.start:%H:%M}–{r.end:%H:%M}" for r in ranges))
        else:
            talk.say("slot.none_in_window")
    if not slots and not result.other_offices:
        task.start = task.end = None
        task.step = "time"
        talk.say("slot.none_at_all", office=office.name.get(talk.lang),
                 buttons=time_buttons(talk))
        return
    if not result.exact:
        why_not_free(talk, office, frm, to)
    buttons = [Button(when_short(s.start.astimezone(office.tz), talk.lang),
                      f'/choose{{"slot": {i}}}') for i, s in enumerate(slots, 1)]
    if result.other_offices and not result.exact:
        for s in result.other_offices:
            other = ctx.config.office(s.office_id)
            assert other is not None
            task.offered.append(_slot_ref(s))
            title = when_short(s.start.astimezone(other.tz), talk.lang)
            buttons.append(Button(f"{other.name.get(talk.lang)}: {title}",
                                  f'/choose{{"slot": {len(task.offered)}}}'))
    buttons.append(talk.button("button.other_time", '/change{"what": "time"}'))
    slots_data = [s.model_dump(mode="json") for s in task.offered]
    talk.say("slot.offer", buttons=buttons, office=office.name.get(talk.lang),
             slots=[{"start": s["start"], "office": s["office"]} for s in slots_data],
             listing=listing(talk), data={"slots": slots_data})


def why_not_free(talk: Talk, office: Office, frm: datetime, to: datetime) -> None:
    """Nothing free in the window asked for: say so, and say why when the office is closed
    that day (a closure, a holiday, no opening hours)."""
    day = frm.astimezone(office.tz).date()
    if to - frm <= timedelta(days=1) and to.astimezone(office.tz).date() == day:
        closure, holiday = office.closed_on(day), holiday_name(day)
        if closure or holiday or not office.hours_on(day):
            why = holiday or (closure.reason.get(talk.lang) if closure and closure.reason else "")
            talk.say("hours.closed_on_day", office=office.name.get(talk.lang),
                     day=i18n_day(day, talk.lang), reason=f" ({why})" if why else "")
            return
    talk.say("slot.none_in_window")


def listing(talk: Talk) -> str:
    lines = []
    for i, s in enumerate(talk.task_as(SlotTask).offered, 1):
        office = talk.ctx.config.office(s.office)
        assert office is not None
        lines.append(f"{i}. {when(s.start.astimezone(office.tz), talk.lang)} "
                     f"({office.name.get(talk.lang)})")
    return "\n".join(lines)


def slot_index(talk: Talk, u: Understanding) -> int | None:
    """Which offered slot the message picks: a number or ordinal ("die Nummer 3 nehme ich"),
    a clock time from the list ("um 10:45", "halb neun"), or a day + time."""
    task = talk.task
    offered = task.offered if isinstance(task, SlotTask) else []
    if not offered:
        return None
    bare = re.fullmatch(r"\W*(\d{1,2})\W*", u.text)
    hour = int(bare.group(1)) if bare and not u.from_button else 0
    if hour > len(offered) and 6 <= hour <= 20 and isinstance(task, SlotTask) and (
            day := _day_under_discussion(task)) is not None:
        # "9" to a list of four: nine o'clock on the day being discussed
        local = day.astimezone(talk.now.tzinfo)
        u.start = u.end = local.replace(hour=hour, minute=0, second=0, microsecond=0)
        u.choice = None
    if u.choice is not None:
        return u.choice if 1 <= u.choice <= len(offered) else None
    if u.office and not u.from_button and isinstance(task, SlotTask):
        # "dann Riesa, die 1", "Riesa is fine then, 10:15": among the slots at that office only;
        # none there: the wish moves to that office (absorb) and is searched again
        at = [i for i, s in enumerate(offered, 1) if s.office == u.office]
        if not at or (u.has_time and u.start != u.end):
            return None  # "dann eben in Großenhain am 28.12.": that office's times that day
        found = _index_in(talk, [offered[i - 1] for i in at], u, office_named=True)
        return at[found - 1] if found is not None else None
    return _index_in(talk, offered, u)


def _index_in(talk: Talk, offered: list[SlotRef], u: Understanding,
              office_named: bool = False) -> int | None:
    spoken = normalize_spoken(u.text, talk.lang)
    picked = answers.ordinal_choice(spoken, len(offered))
    exact_time = u.has_time and u.start == u.end
    if picked is not None and not answers.names_a_day(u.text) and not exact_time:
        return picked
    if u.has_time:
        index = match_slot(offered, u, answers.names_a_day(u.text))
        if index is not None:
            return index
        if u.start != u.end or answers.names_a_day(u.text) or exact_time:
            return None  # another day, a window or a time not offered: search again
    if u.service or (u.office and not office_named):
        return None
    return picked


def match_slot(offered: list[SlotRef], u: Understanding, day_named: bool) -> int | None:
    """Which offered slot a time in the message means ("den um 10", "halb drei", "Dienstag").

    A bare clock time keeps the day under discussion: it matches the offered slot at that time
    on any offered day (half past two is 14:30 in an office). With a day named, the day must
    match too."""
    assert u.start is not None and u.end is not None
    hits = []
    weekday_only = day_named and not re.search(r"\d{1,2}\.\s*\d{0,2}|\b(heute|morgen|today|"
                                               r"tomorrow)\b", u.text, re.I)
    for i, s in enumerate(offered, 1):
        start = s.start.astimezone(u.start.tzinfo)
        if u.start == u.end:
            # "Dienstag, 08:00" for an offered Tuesday in a later week is that Tuesday
            same_day = start.date() == u.start.date() or (
                weekday_only and start.weekday() == u.start.weekday())
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


async def take_slot(talk: Talk, index: int) -> None:
    """Hold offered slot `index` (1-based) and go on; if it is gone, offer again."""
    from assistant.dialogue.flow import advance  # the flow registry lives with the engine

    task = talk.task_as(SlotTask)
    slot = task.offered[index - 1]
    token = await booking.hold(talk.ctx, slot.office, slot.start, slot.end,
                               service_id=task.service)
    if token is None:
        talk.say("slot.taken")
        task.offered = []
        await advance(talk)
        return
    await release(talk)
    task.hold, task.chosen, task.office = token, slot, slot.office
    await advance(talk)


# -- existing appointments ------------------------------------------------------------------------


def show(talk: Talk, a: AppointmentView, key: str) -> None:
    office = talk.ctx.config.office(a.office)
    service = talk.ctx.config.service(a.service)
    assert office is not None and service is not None
    talk.say(key, reference=a.display_reference, service=service.name.get(talk.lang),
             office=office.name.get(talk.lang), address=office.address.one_line(),
             when=when(a.start.astimezone(office.tz), talk.lang),
             mode=t(f"mode.{a.mode}", talk.lang),
             data={"reference": a.display_reference, "appointment": a.to_api(False)})


def task_done(talk: Talk, a: AppointmentView) -> None:
    """A finished task: keep who the citizen is and which appointment it was (for "what do I
    need to bring?"), not the wishes that led to it (a next booking starts fresh)."""
    facts = talk.facts
    facts.service = facts.office = None
    facts.start = facts.end = None
    facts.last_service, facts.last_office, facts.last_start = a.service, a.office, a.start
    facts.reference = a.reference


async def identify(talk: Talk) -> AppointmentView | None:
    """Find the appointment the task names by reference and proof, asking for what is
    missing; None while it is not (yet) found, with the question or answer already said."""
    task, ctx = talk.task_as(LookupTask), talk.ctx
    if not task.reference:
        task.step = "reference"
        talk.say("manage.ask_reference")
        return None
    contact = talk.msg.verified_contact
    if not task.proof and not contact:
        task.step = "proof"
        talk.say("manage.ask_proof", reference=references.display(task.reference))
        return None
    found = await check.lookup(ctx, task.reference, task.proof, talk.origin(),
                               verified_contact=contact, log_check=task.flow == "check")
    if found.throttled:  # the same answer whether the name was right or not
        talk.state.task = None
        talk.say("manage.locked", listing=phone_listing(talk),
                 buttons=[talk.button("menu.human", "/request_human")])
        return None
    if found.appointment is None and contact and not task.proof:
        task.step = "proof"  # not booked from this number: ask for the name instead
        talk.say("manage.ask_proof", reference=references.display(task.reference))
        return None
    if found.appointment is not None and found.appointment.status == "cancelled":
        show(talk, found.appointment, "manage.found_cancelled")
        talk.state.task = None
        talk.say("menu.anything_else", buttons=menu(talk))
        return None
    if found.appointment is None and task.proof_guessed:
        # the name was a guess from the words around the code: ask for it, say nothing else
        task.proof, task.proof_guessed, task.step = None, False, "proof"
        talk.say("manage.ask_proof", reference=references.display(task.reference))
        return None
    if found.appointment is None or found.appointment.status != "booked":
        task.proof_tried = task.proof  # kept for the corrected code ("sorry, typo: PBK-U9C")
        task.reference_tried, task.reference, task.proof = task.reference, None, None
        task.step = "reference"
        task.tries += 1
        talk.say("manage.not_found", buttons=[talk.button("menu.human", "/request_human")]
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
    talk.learn(reference=task.reference, proof=task.proof, last_service=a.service,
               last_office=a.office, last_start=a.start)
    show(talk, a, "manage.found")
    return a


EARLIER = re.compile(r"\b(früher|frueher|eher|zeitiger|earlier|sooner)\b", re.I)
_LATER = re.compile(r"\b(später|spaeter|later)\b", re.I)


def search_earlier(talk: Talk, before: datetime) -> None:
    """Search from now until just before `before` (the appointment or the first offer)."""
    task = talk.task_as(SlotTask)
    task.start, task.end = talk.now, before - timedelta(minutes=5)
    task.offered, task.chosen = [], None


def earlier_or_later(talk: Talk, u: Understanding, before: datetime | None) -> bool:
    """"Geht auch früher?" / "anything later?" without a time: search before `before` (the
    appointment or the first offered slot) or after the last offered one. True if it asked."""
    task = talk.task
    if not isinstance(task, SlotTask) or u.has_time:
        return False
    if EARLIER.search(u.text) and before is not None:
        search_earlier(talk, before)
        return True
    if _LATER.search(u.text) and task.offered:
        last = task.offered[-1].start
        task.start, task.end = last + timedelta(minutes=5), last + timedelta(days=14)
    else:
        return False
    task.offered, task.chosen = [], None
    return True


async def earliest_office(talk: Talk, service: Service, offices: list[Office]) -> Office | None:
    """Of `offices`, the one with the earliest free slot in the wish's window (as soon as
    possible when no time was given)."""
    task = talk.task_as(SlotTask)
    if task.start is None or task.end is None:
        task.start, task.end = talk.now, talk.now + timedelta(days=14)
    best: tuple[datetime, Office] | None = None
    for office in offices:
        slots = await availability.free_slots(talk.ctx, service.id, office.id, task.start,
                                              task.end, limit=1)
        if slots and (best is None or slots[0].start < best[0]):
            best = (slots[0].start, office)
    return best[1] if best else None


def facts_in_request(talk: Talk, text: str) -> tuple[str | None, Contact | None]:
    """The name and the contact a booking request gives among its other facts ("Schmieder,
    Petra, 0152 2345 6789 – Meldebescheinigung – Coswig – Freitag"): services, offices, times,
    codes, phone numbers and e-mail addresses are blanked out before looking for a name."""
    contact = None
    if m := answers.EMAIL.search(text):
        contact = Contact(email=m.group(0).lower())
    else:
        for candidate in re.findall(r"\+?\d[\d\s/()-]{6,}\d", text):
            if phone := answers.normalize_phone(candidate):
                contact = Contact(phone=phone)
                break
    blanked = re.sub(r"[\w.+-]+@[\w.-]+|\+?\d[\d\s/()-]{4,}\d",
                     lambda m: " " * len(m.group()), text)
    nlu = talk.ctx.nlu
    spans = [(m.start, m.end) for m in (nlu.resolver.scan_lenient(blanked) if nlu else [])]
    spans += [(m.start(), m.end()) for m in references.PATTERN.finditer(blanked)
              if any(c.isdigit() for c in m.group())]  # "Kunath" has the shape of a code
    for tr in extract_times(normalize_spoken(blanked, talk.lang), talk.now, talk.lang):
        at = blanked.find(tr.text)
        if at >= 0:
            spans.append((at, at + len(tr.text)))
    for start, end in spans:
        blanked = blanked[:start] + "." + " " * (end - start - 1) + blanked[end:]
    return answers.name_among_facts(blanked), contact


def proof_in(talk: Talk, text: str) -> str | None:
    """The last name given beside a reference code, never an office's or service's name."""
    nlu = talk.ctx.nlu
    for m in reversed(nlu.resolver.scan(text) if nlu else []):
        text = text[:m.start] + " " * (m.end - m.start) + text[m.end:]
    return answers.proof_beside_code(text)


def new_task(talk: Talk, flow: str, **values: Any) -> Task:
    """Start a task in its flow's model, carrying over what the citizen already told us."""
    facts = talk.facts
    model = talk.flows[flow].state_model if flow in talk.flows else Task
    task = model(flow=flow, started=talk.now, turns=1, **values)
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
    talk.state.task = task
    return task


def switch(talk: Talk, flow: str, **changes: Any) -> Task | None:
    """Carry the task under way over to `flow` (a video call becoming a video appointment),
    in that flow's model with the fields both have; None (no task) when it is not switched on."""
    task, target = talk.task, talk.flows.get(flow)
    if task is None or target is None:
        talk.state.task = None
        return None
    values = {**task.model_dump(exclude={"v"}), **changes, "flow": flow}
    talk.state.task = target.state_model.model_validate(values)
    return talk.state.task
