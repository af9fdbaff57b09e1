"""Information: what to bring and what it costs, opening hours (for a date, or which offices
are open that day), and where an office is. A side answer: the task under way goes on."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path

from assistant.plugin import (
    Button,
    Flow,
    Office,
    Turn,
    Understanding,
    advance,
    answers,
    blocks,
    day,
    holiday_name,
    hookimpl,
    t,
)

_THAT_DAY = re.compile(r"\b(that day|same day|this day|an dem tag|an diesem tag|am selben tag"
                       r"|am gleichen tag|dem tag|diesem tag)\b", re.I)
# "geht das am Freitag?", "kann ich das in Riesa machen?", "is there anything on Friday?"
_CAN_I = re.compile(r"\b(geht (?:das|es|des|dit)|gehts|geht's|kann ich|könnte ich|koennte ich"
                    r"|ginge (?:das|es)|wäre das|waere das|würde das gehen|wuerde das gehen"
                    r"|gibt es (?:da )?(?:noch )?(?:einen |nen )?termin|habt ihr|haben sie (?:da )?"
                    r"(?:noch )?(?:was|etwas|einen termin)|can i|could i|is there|are there"
                    r"|do you have)\b", re.I)
_OTHER_OFFICE = re.compile(r"\b(any other|another|other office|other offices|anderes|andere[ns]?"
                           r"|welche[sn]? (?:andere\w* )?(?:bürgerbüro|buergerbuero|büro|office)"
                           r"|irgendein\w*)\b", re.I)


class InformationFlow(Flow):
    name = "information"
    intents = frozenset({"ask_service_info", "ask_opening_hours"})
    side = True

    def claims(self, turn: Turn, meaning: Understanding) -> bool:
        """Where-questions ("Wo ist das genau?") are ours whatever the intent."""
        return answers.asks_where(meaning.text) and self._where_target(turn, meaning) != (None,
                None)

    async def respond(self, turn: Turn, meaning: Understanding) -> None:
        if meaning.intent not in self.intents and answers.asks_where(meaning.text):
            self._where(turn, meaning)
        elif meaning.intent == "ask_opening_hours":
            self._opening_hours(turn, meaning)
        elif turn.task is None and "book" in turn.flows and meaning.service and (
                meaning.office or meaning.has_time) and _CAN_I.search(meaning.text):
            # "was kostet … und geht das in Meißen am Freitag?": the fee, then the times
            self._service_info(turn, meaning, book_button=False)
            blocks.new_task(turn, "book", mode="in_person")
            blocks.absorb(turn, meaning)
            await advance(turn)
        else:
            self._service_info(turn, meaning)

    # -- documents and fees ---------------------------------------------------------------------
    def _service_info(self, turn: Turn, meaning: Understanding, book_button: bool = True) -> None:
        cfg, lang, facts, task = turn.ctx.config, turn.lang, turn.facts, turn.task
        service = cfg.service(meaning.service or (task.service if task else None) or facts.service
                              or facts.last_service or "")
        if service is None:
            turn.say("info.ask_service", buttons=[
                Button(s.name.get(lang), f'/ask_service_info{{"service": "{s.id}"}}')
                for s in cfg.services])
            return
        if task is None:
            turn.learn(service=service.id)
            if meaning.office and meaning.office in {o.id for o in cfg.offices_for(service.id)}:
                # "was brauche ich … in Großenhain?", then a booking
                turn.learn(office=meaning.office)
        turn.say(
            "info.service",
            service=service.name.get(lang),
            documents="\n".join(f"• {d}" for d in service.documents[lang]),
            fee=service.fee.get(lang),
            minutes=service.duration_minutes,
            notes=service.notes.get(lang) if service.notes else "",
            offices=", ".join(o.name.get(lang) for o in cfg.offices_for(service.id)),
            buttons=[] if task or not book_button else [
                turn.button("menu.book", f'/book_appointment{{"service": "{service.id}"}}')],
        )

    # -- opening hours --------------------------------------------------------------------------
    def _opening_hours(self, turn: Turn, meaning: Understanding) -> None:
        cfg, lang, facts, task = turn.ctx.config, turn.lang, turn.facts, turn.task
        office = cfg.office(meaning.office or (task.office if task else None) or facts.office
                            or facts.last_office or "")
        if meaning.office and task is None:
            turn.learn(office=meaning.office)
        if _OTHER_OFFICE.search(meaning.text) and not meaning.office:
            office = None  # "Is any other office open that day?": all of them
        one_day = (meaning.start is not None and meaning.end is not None and not meaning.from_button
                   and meaning.end - meaning.start < timedelta(days=1, hours=1))
        on = meaning.start.date() if one_day and meaning.start is not None else None
        if on is None and facts.start is not None and not meaning.has_time and (
                _THAT_DAY.search(meaning.text) or answers.follows_up(meaning.text)):
            on = facts.start.astimezone(turn.now.tzinfo).date()  # the day asked about before
        if on is not None:
            self._hours_on_day(turn, office, on)
            return
        if office is not None and meaning.start is not None and meaning.end is not None and (
                timedelta(days=1) < meaning.end - meaning.start <= timedelta(days=14)):
            self._hours_on_days(turn, office, meaning.start.date(), meaning.end.date())
            return
        if office is None:
            turn.say("hours.ask_office", buttons=[
                Button(o.name.get(lang), f'/ask_opening_hours{{"office": "{o.id}"}}')
                for o in cfg.offices])
            return
        lines = []
        for weekday in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"):
            ranges = office.opening_hours.get(weekday) or []
            if ranges:
                spans = ", ".join(f"{r.start:%H:%M}–{r.end:%H:%M}" for r in ranges)
                lines.append(f"{t('weekday.' + weekday, lang)}: {spans}")
        today = turn.now.astimezone(office.tz).date()
        notes = "".join(
            t("hours.closure", lang, start=f"{c.start:%d.%m.}", end=f"{c.last:%d.%m.%Y}",
              reason=c.reason.get(lang) if c.reason else "")
            for c in office.closures_from(today)[:2])
        turn.say("hours.office", office=office.name.get(lang), address=office.address.one_line(),
                 hours="\n".join(lines), closures=notes, phone=office.phone or "",
                 buttons=[] if task else [
                     turn.button("menu.book", f'/book_appointment{{"office": "{office.id}"}}')])

    def _hours_on_days(self, turn: Turn, office: Office, first: date, last: date) -> None:
        """Opening hours day by day ("zwischen Weihnachten und Neujahr"), closures with why."""
        lang, lines = turn.lang, []
        for n in range((last - first).days + 1):
            on = first + timedelta(days=n)
            holiday, closure = holiday_name(on), office.closed_on(on)
            ranges = [] if (holiday or closure) else office.hours_on(on)
            why = holiday or (closure.reason.get(lang) if closure and closure.reason else "")
            shown = (", ".join(f"{r.start:%H:%M}–{r.end:%H:%M}" for r in ranges) if ranges
                     else t("hours.closed_short", lang) + (f" ({why})" if why else ""))
            lines.append(f"• {day(on, lang)}: {shown}")
        turn.say("hours.on_days", office=office.name.get(lang), listing="\n".join(lines))

    def _hours_on_day(self, turn: Turn, office: Office | None, on: date) -> None:
        """Opening hours for one date ("Hat Riesa am 1. Januar offen?"), for one office or,
        without one, which offices are open that day ("Welches Bürgerbüro hat samstags auf?")."""
        cfg, lang = turn.ctx.config, turn.lang
        day_text = day(on, lang)
        holiday = holiday_name(on)
        start = datetime.combine(on, dtime(0, 0), tzinfo=turn.now.tzinfo)
        turn.learn(start=start, end=start.replace(hour=23, minute=59, second=59))
        open_ = []
        for o in [office] if office else cfg.offices:
            closure = o.closed_on(on)
            ranges = [] if (holiday or closure) else o.hours_on(on)
            if ranges:
                open_.append((o, ", ".join(f"{r.start:%H:%M}–{r.end:%H:%M}" for r in ranges)))
            elif office is not None:
                why = holiday or (closure.reason.get(lang) if closure and closure.reason else "")
                turn.say("hours.closed_on_day", office=o.name.get(lang), day=day_text,
                         reason=f" ({why})" if why else "")
        if office is not None:
            if open_:
                turn.say("hours.on_day", office=office.name.get(lang), day=day_text,
                         hours=open_[0][1])
            return
        if not open_:
            turn.say("hours.none_on_day", day=day_text, reason=f" ({holiday})" if holiday else "")
            return
        if len(open_) == 1:  # "then register my car there this Saturday"
            turn.learn(office=open_[0][0].id)
        turn.say("hours.offices_on_day", day=day_text,
                 listing="\n".join(f"• {o.name.get(lang)}: {h}" for o, h in open_))

    # -- where ----------------------------------------------------------------------------------
    def _where_target(self, turn: Turn, meaning: Understanding) -> tuple[str | None, str | None]:
        facts, task = turn.facts, turn.task
        office = (meaning.office or (task.office if task else None) or facts.last_office
                  or facts.office)
        service = (meaning.service or (task.service if task else None) or facts.service
                   or facts.last_service)
        return office, service

    def _where(self, turn: Turn, meaning: Understanding) -> None:
        """Where an office is, or where a service can be had ("Und wo kann ich das machen?")."""
        cfg, lang = turn.ctx.config, turn.lang
        office_id, service_id = self._where_target(turn, meaning)
        office, service = cfg.office(office_id or ""), cfg.service(service_id or "")
        if office is None and service is not None:
            turn.say("where.service", service=service.name.get(lang), listing="\n".join(
                f"• {o.name.get(lang)}, {o.address.one_line()}"
                for o in cfg.offices_for(service.id)))
            return
        if office is not None:
            turn.say("where.office", office=office.name.get(lang),
                     address=office.address.one_line(), phone=office.phone or "")


@hookimpl
def register_flows() -> list[Flow]:
    return [InformationFlow()]


@hookimpl
def message_catalogs() -> list[Path]:
    return sorted(Path(__file__).with_name("locales").glob("information.*.po"))
