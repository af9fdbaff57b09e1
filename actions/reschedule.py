"""Move an appointment: reference + last name → the appointment → new time (or office) → slot
→ "Soll ich … verschieben?" → moved. The answer is rendered from the row as stored."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from pathlib import Path

from assistant.plugin import (
    Button,
    Flow,
    LookupTask,
    SlotTask,
    Talk,
    Understanding,
    advance,
    answers,
    blocks,
    hookimpl,
    normalize_spoken,
    reschedule,
    steps,
    when,
)


class RescheduleTask(LookupTask, SlotTask):
    """Moving: the appointment identified, then a new slot chosen and held for it. What the
    first message says relative to the appointment ("same time next Thursday", "the day
    before", "am selben Tag später") is kept until the appointment is known."""

    shift_days: int | None = None  # "um eine Woche nach hinten": same time, that many days on
    day_offset: int | None = None  # "the day before" -1, "am Tag danach" +1
    same_time: bool = False  # "gleiche Uhrzeit", "same time"
    same_day: bool = False  # "am selben Tag", "later that day"
    later: bool = False  # "später", "later"
    asked: list[tuple[datetime, datetime, str]] = []  # every time the first message named


class RescheduleFlow(Flow):
    name = "reschedule"
    intents = frozenset({"reschedule_appointment"})
    state_model = RescheduleTask

    async def advance(self, talk: Talk) -> None:
        task, cfg = talk.task_as(RescheduleTask), talk.ctx.config
        if task.appointment_id is None:
            if await blocks.identify(talk) is None:
                return
            _aim(talk, task)
        office, service = cfg.office(task.office or ""), cfg.service(task.service or "")
        assert office is not None and service is not None
        if service.id not in office.services:  # "lieber in Radebeul" for a car registration
            offices = cfg.offices_for(service.id, talk.msg.channel)
            talk.say("reschedule.office_lacks_service", office=office.name.get(talk.lang),
                     service=service.name.get(talk.lang),
                     offices=", ".join(o.name.get(talk.lang) for o in offices),
                     buttons=[Button(o.name.get(talk.lang), f'/inform{{"office": "{o.id}"}}')
                              for o in offices])
            task.office = talk.facts.last_office  # the appointment's own, until told
            task.start, task.end, task.offered = None, None, []
            task.step = "time"
            return
        if task.start is None and task.wants_earlier and task.current_start is not None:
            blocks.search_earlier(talk, task.current_start)
        if task.start is None:
            task.step = "time"
            talk.say("reschedule.ask_time", buttons=blocks.time_buttons(talk))
            return
        if task.chosen is None:
            await blocks.offer(talk, service, office)
            return
        task.step = "confirm"
        chosen_office = cfg.office(task.chosen.office) or office
        talk.say("reschedule.confirm", buttons=blocks.yes_no(talk),
                 when=when(task.chosen.start.astimezone(chosen_office.tz), talk.lang))

    async def begin(self, talk: Talk, u: Understanding) -> None:
        task = talk.task_as(RescheduleTask)
        said = normalize_spoken(u.text, talk.lang)  # "uff'n Dag drnach" too
        task.wants_earlier = bool(blocks.EARLIER.search(said) or _EARLIEST.search(said))
        task.shift_days = answers.shift_in(said)
        task.day_offset = answers.relative_day(said)
        task.same_time = bool(_SAME_TIME.search(said))
        task.same_day = bool(_SAME_DAY.search(said))
        task.later = bool(_LATER.search(said))
        task.asked = list(u.times)
        if task.shift_days:
            task.start = task.end = None  # the resolver's "in a week" counts from today

    async def answer(self, talk: Talk, u: Understanding) -> bool:
        task = talk.task_as(RescheduleTask)
        if task.appointment_id and blocks.earlier_or_later(talk, u, task.current_start):
            await advance(talk)
            return True
        if task.appointment_id and blocks.day_relative(talk, u):  # "am Tag davor?"
            await blocks.release(talk)
            await advance(talk)
            return True
        if task.current_start is not None and (days := answers.shift_in(u.text)):
            await blocks.release(talk)
            task.offered, task.chosen = [], None
            task.start = task.end = task.current_start + timedelta(days=days)
            await advance(talk)
            return True
        if await steps.answer_correction(talk, u):
            return True
        if task.step == "time":
            return await steps.answer_time(talk, u)
        return await steps.answer_step(talk, u)

    async def step(self, talk: Talk, u: Understanding) -> None:
        await steps.manage_step(talk, u, self.intents)

    async def confirm(self, talk: Talk) -> None:
        task, ctx = talk.task_as(RescheduleTask), talk.ctx
        assert task.chosen is not None and task.appointment_id is not None
        chosen = task.chosen
        view = await reschedule.move(ctx, task.appointment_id, task.hold or "", chosen.start,
                                     chosen.end, talk.origin(), office_id=chosen.office)
        task.hold = None
        if view is None:
            task.chosen, task.offered = None, []
            talk.say("slot.taken")
            await advance(talk)
            return
        office = ctx.config.office(view.office)
        assert office is not None
        talk.state.task = None
        blocks.task_done(talk, view)
        talk.say("reschedule.done", reference=view.display_reference,
                 when=when(view.start.astimezone(office.tz), talk.lang),
                 office=office.name.get(talk.lang),
                 data={"reference": view.display_reference, "appointment": view.to_api(False)},
                 buttons=blocks.menu(talk, short=True))


_SAME_TIME = re.compile(r"\b(gleiche[nr]? (?:uhr)?zeit|selbe[nr]? (?:uhr)?zeit|same time"
                        r"|zur gleichen zeit|um die gleiche zeit)\b", re.I)
_SAME_DAY = re.compile(r"\b(am (?:selben|gleichen) tag|same day|later that day|earlier that day"
                       r"|den gleichen tag|denselben tag)\b", re.I)
_EARLIEST = re.compile(r"\b(earliest|frühest\w*|fruehest\w*|so früh wie möglich)\b", re.I)
_LATER = re.compile(r"\b(später|spaeter|later)\b", re.I)


def _aim(talk: Talk, task: RescheduleTask) -> None:
    """The appointment is known now: turn what the first message said relative to it into the
    wish ("same time next Thursday" -> Thursday at its time; "the day before, 9:30" -> that
    day 9:30; "am selben Tag später, nachmittags" -> its day, afternoon; "früher?" -> before)."""
    current = task.current_start
    if current is None:
        return
    local = current.astimezone(talk.now.tzinfo)
    # the times the message named that are not the appointment itself ("on Monday", "am 3.12.")
    targets = [(s, e, t) for s, e, t in task.asked if not s <= current <= e]
    named = [(s, e) for s, e, t in targets if answers.names_a_day(t)]
    clocks = [_time_of_day(s, e) for s, e, t in targets if _time_of_day(s, e)]
    clock = clocks[-1] if clocks else None
    if clock is not None and task.start is not None and task.end is not None and (
            window := _time_of_day(task.start, task.end)):
        clock = window  # the resolver left out "I have a meeting in the morning"
    day = None
    if task.shift_days:
        day = (local + timedelta(days=task.shift_days)).date()
    elif task.day_offset:
        day = (local + timedelta(days=task.day_offset)).date()
    elif task.same_day:
        day = local.date()
    elif named:
        start, end = named[-1]
        if end - start > timedelta(days=1):  # "next week": that window as it is
            task.start, task.end = start, end
            task.shift_days, task.day_offset, task.asked = None, None, []
            return
        day = start.astimezone(local.tzinfo).date()
    if day is not None:
        base = local.replace(year=day.year, month=day.month, day=day.day)
        if task.same_time or (clock is None and (task.shift_days or task.day_offset)
                              and not task.later):
            task.start = task.end = base
        elif clock is not None:
            task.start = base.replace(hour=clock[0].hour, minute=clock[0].minute, second=0)
            task.end = base.replace(hour=clock[1].hour, minute=clock[1].minute, second=0)
        elif task.later:
            task.start = local + timedelta(minutes=15)
            task.end = base.replace(hour=23, minute=59, second=59)
        else:
            task.start = base.replace(hour=0, minute=0, second=0)
            task.end = base.replace(hour=23, minute=59, second=59)
        task.daily = None
        task.wants_earlier = False
    elif task.same_time and task.start is not None and task.end is not None and (
            task.end - task.start) <= timedelta(days=1):
        at = task.start.astimezone(local.tzinfo)
        task.start = task.end = at.replace(hour=local.hour, minute=local.minute, second=0)
    elif task.wants_earlier and task.start is not None and task.start == current:
        blocks.search_earlier(talk, current)  # "whatever is earliest in Meissen"
    elif task.wants_earlier and not targets:
        task.start = task.end = None  # "geht es früher?": searched before it (advance)
    elif task.asked and not targets and not task.same_time:
        task.start = task.end = None  # "mein Termin am Montag …": when instead is still asked
    task.shift_days, task.day_offset, task.asked = None, None, []


def _time_of_day(start: datetime, end: datetime) -> tuple[time, time] | None:
    """The clock time or window of a range within one day ("9:30", "afternoon"), not a whole day."""
    if start.date() != end.date():
        return None
    if (start.hour, start.minute) == (0, 0) and (end.hour, end.minute) == (23, 59):
        return None
    return start.timetz(), end.timetz()


@hookimpl
def register_flows() -> list[Flow]:
    return [RescheduleFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("reschedule.*.po"))
