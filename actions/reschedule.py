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
    Turn,
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
    weekday_after: int | None = None  # "auf den Dienstag danach": 1 (Tuesday) after its day
    shift_minutes: int | None = None  # "eine Stunde später": the same day, that much later
    same_time: bool = False  # "gleiche Uhrzeit", "same time"
    same_day: bool = False  # "am selben Tag", "later that day"
    later: bool = False  # "später", "later"
    asked: list[tuple[datetime, datetime, str]] = []  # every time the first message named


class RescheduleFlow(Flow):
    name = "reschedule"
    intents = frozenset({"reschedule_appointment"})
    state_model = RescheduleTask

    async def advance(self, turn: Turn) -> None:
        task, cfg = turn.task_as(RescheduleTask), turn.ctx.config
        if task.appointment_id is None:
            if await blocks.identify(turn) is None:
                return
            _aim(turn, task)
        office, service = cfg.office(task.office or ""), cfg.service(task.service or "")
        assert office is not None and service is not None
        if service.id not in office.services:  # "lieber in Radebeul" for a car registration
            offices = cfg.offices_for(service.id, turn.msg.channel)
            turn.say("reschedule.office_lacks_service", office=office.name.get(turn.lang),
                     service=service.name.get(turn.lang),
                     offices=", ".join(o.name.get(turn.lang) for o in offices),
                     buttons=[Button(o.name.get(turn.lang), f'/inform{{"office": "{o.id}"}}')
                              for o in offices])
            task.office = turn.facts.last_office  # the appointment's own, until told
            task.start, task.end, task.offered = None, None, []
            task.step = "time"
            return
        if task.start is None and task.wants_earlier and task.current_start is not None:
            blocks.search_earlier(turn, task.current_start)
        if task.start is None:
            task.step = "time"
            turn.say("reschedule.ask_time", buttons=blocks.time_buttons(turn))
            return
        if task.chosen is None:
            await blocks.offer(turn, service, office)
            return
        task.step = "confirm"
        chosen_office = cfg.office(task.chosen.office) or office
        turn.say("reschedule.confirm", buttons=blocks.yes_no(turn),
                 when=when(task.chosen.start.astimezone(chosen_office.tz), turn.lang))

    async def begin(self, turn: Turn, meaning: Understanding) -> None:
        task = turn.task_as(RescheduleTask)
        said = normalize_spoken(meaning.text, turn.lang)  # "uff'n Dag drnach" too
        task.wants_earlier = bool(blocks.EARLIER.search(said) or _EARLIEST.search(said))
        task.shift_days = answers.shift_in(said)
        task.day_offset = answers.relative_day(said)
        task.weekday_after = answers.weekday_after(said)
        task.shift_minutes = answers.shift_minutes(said)
        task.same_time = bool(_SAME_TIME.search(said))
        task.same_day = bool(_SAME_DAY.search(said))
        task.later = bool(_LATER.search(said)) and not task.shift_days  # not "eine Woche später"
        task.asked = list(meaning.times)
        if task.shift_days:
            task.start = task.end = None  # the resolver's "in a week" counts from today
        if task.appointment_id is not None:  # carried over known (from a cancellation)
            _aim(turn, task)

    async def answer(self, turn: Turn, meaning: Understanding) -> bool:
        task = turn.task_as(RescheduleTask)
        if task.appointment_id and blocks.earlier_or_later(turn, meaning, task.current_start):
            await advance(turn)
            return True
        if task.appointment_id and blocks.day_relative(turn, meaning):  # "am Tag davor?"
            await blocks.release(turn)
            await advance(turn)
            return True
        if task.current_start is not None and (days := answers.shift_in(meaning.text)):
            await blocks.release(turn)
            task.offered, task.chosen = [], None
            task.start = task.end = task.current_start + timedelta(days=days)
            await advance(turn)
            return True
        if task.appointment_id and not meaning.from_button and meaning.start is not None and (
                _SAME_TIME.search(normalize_spoken(meaning.text, turn.lang))):
            # "doch lieber Freitag den 4., gleiche Zeit": that day at the time under discussion
            tz = turn.now.tzinfo
            ref = task.chosen.start if task.chosen else (
                task.start if task.start is not None and task.start == task.end
                else task.current_start)
            if ref is not None:
                day = meaning.start.astimezone(tz).date()
                await blocks.release(turn)
                task.offered, task.chosen = [], None
                task.start = task.end = ref.astimezone(tz).replace(
                    year=day.year, month=day.month, day=day.day)
                await advance(turn)
                return True
        if await steps.answer_correction(turn, meaning):
            return True
        if task.step == "time":
            return await steps.answer_time(turn, meaning)
        return await steps.answer_step(turn, meaning)

    async def step(self, turn: Turn, meaning: Understanding) -> None:
        await steps.manage_step(turn, meaning, self.intents)

    async def confirm(self, turn: Turn) -> None:
        task, ctx = turn.task_as(RescheduleTask), turn.ctx
        assert task.chosen is not None and task.appointment_id is not None
        chosen = task.chosen
        view = await reschedule.move(ctx, task.appointment_id, task.hold or "", chosen.start,
                                     chosen.end, turn.origin(), office_id=chosen.office)
        task.hold = None
        if view is None:
            task.chosen, task.offered = None, []
            turn.say("slot.taken")
            await advance(turn)
            return
        office = ctx.config.office(view.office)
        assert office is not None
        turn.state.task = None
        blocks.task_done(turn, view)
        turn.say("reschedule.done", reference=view.display_reference,
                 when=when(view.start.astimezone(office.tz), turn.lang),
                 office=office.name.get(turn.lang),
                 data={"reference": view.display_reference, "appointment": view.to_api(False)},
                 buttons=blocks.menu(turn, short=True))


_SAME_TIME = re.compile(r"\b(gleiche[nr]? (?:uhr)?zeit|selbe[nr]? (?:uhr)?zeit|same time"
                        r"|zur gleichen zeit|um die gleiche zeit)\b", re.I)
_SAME_DAY = re.compile(r"\b(am (?:selben|gleichen) tag|same day|later that day|earlier that day"
                       r"|den gleichen tag|denselben tag)\b", re.I)
_EARLIEST = re.compile(r"\b(earliest|frühest\w*|fruehest\w*|so früh wie möglich)\b", re.I)
_LATER = re.compile(r"\b(später|spaeter|later)\b", re.I)


def _aim(turn: Turn, task: RescheduleTask) -> None:
    """The appointment is known now: turn what the first message said relative to it into the
    wish ("same time next Thursday" -> Thursday at its time; "the day before, 9:30" -> that
    day 9:30; "am selben Tag später, nachmittags" -> its day, afternoon; "früher?" -> before)."""
    current = task.current_start
    if current is None:
        return
    local = current.astimezone(turn.now.tzinfo)
    if task.shift_minutes:  # "Könnte ich den auch eine Stunde später haben?"
        task.start = task.end = local + timedelta(minutes=task.shift_minutes)
        task.shift_minutes, task.asked = None, []
        return
    # the times the message named that are not the appointment itself ("on Monday", "am 3.12.")
    targets = [(s, e, t) for s, e, t in task.asked if not s <= current <= e]
    named = [(s, e) for s, e, t in targets if answers.names_a_day(t)]
    clocks = [_time_of_day(s, e) for s, e, t in targets if _time_of_day(s, e)]
    clock = clocks[-1] if clocks else None
    if clock is not None and task.start is not None and task.end is not None and (
            window := _time_of_day(task.start, task.end)) and not (
            _holds(window, local) and not _holds(clock, local)):
        clock = window  # the resolver left out "I have a meeting in the morning"
    day = None
    if task.shift_days:
        day = (local + timedelta(days=task.shift_days)).date()
    elif task.day_offset:
        day = (local + timedelta(days=task.day_offset)).date()
    elif task.weekday_after is not None:
        day = (local + timedelta(days=(task.weekday_after - local.weekday() - 1) % 7 + 1)).date()
    elif task.same_day or (clock is not None and not named and all(
            s.astimezone(local.tzinfo).date() == turn.now.astimezone(local.tzinfo).date()
            for s, _, _ in targets)):
        day = local.date()  # "geht der auch am Nachmittag?": that day, in the afternoon
    elif named:
        start, end = named[-1]
        same_weekday = [d for d in (start.astimezone(local.tzinfo).date() + timedelta(days=i)
                                    for i in range((end - start).days + 1))
                        if d.weekday() == local.weekday()]
        if task.same_time and end - start > timedelta(days=1) and same_weekday:
            start = end = datetime.combine(same_weekday[0], local.timetz())
            # "nächste Woche, gleiche Zeit": its weekday in that week, at its time
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
        blocks.search_earlier(turn, current)  # "whatever is earliest in Meissen"
    elif task.wants_earlier and not targets:
        task.start = task.end = None  # "geht es früher?": searched before it (advance)
    elif task.asked and not targets and not task.same_time:
        task.start = task.end = None  # "mein Termin am Montag …": when instead is still asked
    task.shift_days, task.day_offset, task.weekday_after, task.asked = None, None, None, []


def _holds(window: tuple[time, time], at: datetime) -> bool:
    """Whether the clock time of `at` lies in `window` (compared as wall-clock times)."""
    def hm(t: time) -> tuple[int, int]:
        return t.hour, t.minute
    return hm(window[0]) <= (at.hour, at.minute) <= hm(window[1])


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
