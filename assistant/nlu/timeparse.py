"""Dates and times in German and English chat messages, resolved to intervals in Europe/Berlin.

`extract(text, now)` returns one `TimeRange` per time expression, left to right;
`resolve(text, now)` combines every expression in the text into one range ("morgen" +
"vormittags" -> tomorrow 08:00-12:00). `now` may be naive (taken as Europe/Berlin) or aware.
`lang` ("de", "en" or None for both) only breaks ties: "10 am" is 10:00 in English but German
"am" in "um 10 am Montag"; "12/3" is 12 March in German and December 3 in English.

Conventions (the public API returns these intervals, so they are a contract):

Days and weeks
- A whole day is 00:00:00 to 23:59:59 (microsecond 0). A week runs Monday 00:00:00 to
  Sunday 23:59:59 ("diese Woche", "nächste Woche", "übernächste Woche", "next week").
- heute / today, morgen / tomorrow, übermorgen / the day after tomorrow.
- A bare weekday ("Dienstag", "am Montag", "on friday", "Mo", "Sonnabend") is the next such day
  AFTER today: said on a Tuesday, "Dienstag" is the Tuesday a week later; today is "heute".
  "diesen Dienstag" / "this tuesday" is today if today is Tuesday, else the next one.
  "nächsten Dienstag" / "next tuesday" / "Dienstag nächste Woche" is the Tuesday of next
  (calendar) week; "übernächsten Dienstag" the one of the week after.
- A date without a year ("3.12.", "3. Dezember", "am dritten Dezember", "December 3rd",
  "3rd of December") is its next occurrence: today or later this year, else next year.
  "am 3." / "on the 3rd" alone is the next 3rd of a month.
- Numeric slash dates are day/month ("12/3" = 12 March); in English, where both orders are
  written, whichever reading comes sooner ("12/3" and "3/12" on 23 November are both
  December 3); if only one reading is a valid date, that one. "3.12" without the
  final dot is a date; it is a time after "um" / "gegen" ("um 10.30"), with "Uhr", and after
  "ab" / "bis" or right after a day when it cannot be a date ("Dienstag 10.30").
- "in zwei Wochen" / "in 3 days" / "in einem Monat" is that single day (a weekday given with
  it picks that day in the same week: "Dienstag in zwei Wochen").
- Anfang = 1st-7th, Mitte = 11th-20th, Ende = 22nd-last day of a month ("Anfang Dezember",
  "mid december", "end of the month"); "im Dezember" / "nächsten Monat" = the whole month.
- Anfang der Woche = Monday-Tuesday, Mitte = Tuesday-Thursday, Ende = Thursday-Friday
  (offices' working week); without "diese"/"nächste" a part already over means next week's.
- "KW 50" / "calendar week 50" = that ISO week, this year's or, once over, next year's.
- "Heiligabend" / "Christmas Eve" = 24 December, "Silvester" / "New Year's Eve" = 31 December,
  "Neujahr" / "New Year's Day" = 1 January: the next one, like a date without a year (asked
  about for opening hours: "Hat Riesa an Silvester offen?"). "Happy new year" is no day.
- Wochenende / weekend = Saturday-Sunday of this week; "nächstes Wochenende" / "next weekend"
  that of next week (the same rule as "nächsten Dienstag").
- "so bald wie möglich", "asap", "schnellstmöglich", "nächstmöglich", "egal wann",
  "any time", ... = now to now + 14 days. A day said with it wins ("asap, nächste Woche");
  a time of day alone does not narrow it ("asap, vormittags" stays now to now + 14 days).
- "ab Montag" / "from monday" = that day 00:00 to 13 days later 23:59:59 (the same two weeks
  as "asap"); "bis Freitag" / "until friday" = today 00:00 to that day 23:59:59, "vor Freitag" /
  "before friday" to the day before.

Times of day
- An exact time ("14:30", "um 10 Uhr", "gegen 10", "halb zehn" = 09:30, "viertel nach drei",
  "dreiviertel zehn" = 09:45 and "viertel zehn" = 09:15 in Saxon usage, "10 vor 12",
  "half past nine", "quarter to ten", "at 10am") has start == end.
- Offices open about 08:00-18:00, so an hour 1-6 without am/pm, a day part or 24-hour
  writing means the afternoon: "um 3" = 15:00, "halb drei" = 14:30, "um 9" = 09:00,
  "um 7" = 07:00. "03:00", "15 Uhr", "3am", "3 Uhr früh" are taken as written.
- Day parts: früh / early 06-10, vormittags / morgens / morning 08-12, mittags / noon /
  lunchtime 12-14, nachmittags / afternoon 12-18, abends / evening / tonight 18-22. A day part
  said with an exact time moves it: "um 3 nachmittags" = 15:00, "9 Uhr abends" = 21:00.
  "at noon" / "12 noon" is 12:00 exactly.
- Ranges: "zwischen 9 und 11", "von 14 bis 16 Uhr", "14-16 Uhr", "between 9 and 11am",
  "9 bis 11", "10 to 12"; but "9-11" alone is not a time, and "ten to twelve" in words is
  11:50. "ab 15 Uhr" / "nach 14 Uhr" / "after 3pm" = that time to 23:59:59; "bis 10 Uhr" /
  "vor 10" / "before 10" = 00:00 to that time; an open range narrows what else was said
  ("vormittags ab 10" = 10:00-12:00).
- A bare number is a time after "um" / "gegen" / "at" / "ab" / "bis" / ... or right after a
  day ("Dienstag 10" = 10:00), never alone.
- A full stop that ends the sentence belongs to the sentence, not to the number: "Freitag
  früh um halb acht." is 07:30, "zwischen 9 und 11." 09:00-11:00, "Freitag 9." 09:00
  ("8." is a day of the month only where a date can stand: "am 8.", "den 8. um 10", "8. Dez").
- A time without a day is today if it is not over yet, else tomorrow (calendar days: whether
  the office is open is for the booking layer; Riesa opens on Saturdays).
- Every result is a real local time: on the last Sunday of March a time in the hour the clocks
  skip (02:00-02:59) is the first one after it, 03:00 ("um 2:30" -> 03:00). "in 2 Stunden" /
  "in 30 minutes" are that much real time after `now`, across a change of the clocks too.
- A day before year 1 or after 9999 does not exist: what would need one ("in 3 Jahren" said in
  9998) is no time, and the rest of the message is read as usual.

Combining
- A day (or range of days) with a time of day gives the time on that day; a range of several
  days with a time gives the smallest interval holding the time on every one of those days
  ("nächste Woche vormittags" = Monday 08:00 to Sunday 12:00).
- Several days or times in one message that do not narrow each other ("Montag oder
  Dienstag") give the interval covering all of them.
- `resolve(...).text` is the input from the first to the last expression used.
- A clause that turns a time down ("Today is too short notice.", "Morgen passt mir leider
  nicht, aber ...", "Freitag kann ich nicht.") is left out of `resolve` when another clause
  holds a time; "nicht vor 10" / "geht nicht vor 10" is a wish, not a refusal.

Not times: greetings and farewells ("Guten Morgen", "good morning", "schönen Abend",
"Vielen Dank, bis morgen!"), a bare number ("2", "Termin 2", "Option 3", "9-11"), an option
picked by ordinal ("Ich nehme den ersten"; "den 3." is a date only before a time or after a
weekday), reference codes ("K7Q-M4P"), phone numbers ("0351 123456"), house numbers, amounts
("in 3 Wochen" is a day, but "3 Personen" is nothing), "Fr. Müller", the modal "may".
"Morgen" at the start of a message is taken as tomorrow: as an answer to "when?" that is
what it means.

Speed: everything is regular expressions compiled at import; dateparser (slow) is only asked
about odd full dates the own rules do not know ("3-Dec-2026", "2026.12.03"), loaded on first
use.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, wraps
from typing import ParamSpec, TypeVar
from zoneinfo import ZoneInfo

from assistant.nlu.spoken import (
    ENGLISH_CARDINALS,
    ENGLISH_ORDINALS,
    GERMAN_CARDINALS,
    GERMAN_ORDINALS,
    MONTH_WORDS,
    ordinal_suffix,
)

__all__ = ["BERLIN", "TimeRange", "extract", "resolve"]

BERLIN = ZoneInfo("Europe/Berlin")
ASAP_DAYS = 14  # "so bald wie möglich" and "ab Montag" look this many days ahead
_DAY_END = 24 * 3600 - 1  # 23:59:59 in seconds


@dataclass(frozen=True)
class TimeRange:
    """An interval in Europe/Berlin; start == end for an exact time."""

    start: datetime  # tz-aware, Europe/Berlin
    end: datetime
    text: str  # the matched span of the input
    # "nächste Woche vormittags", "diese Woche ab 16 Uhr": on each day of a span of several
    # days, only this time of day (local wall clock); None for a single day or no time of day
    daily: tuple[time, time] | None = None

    def to_api(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


def extract(text: str, now: datetime, lang: str | None = None) -> list[TimeRange]:
    """Each time expression in `text`, left to right ("Montag um 10 oder Dienstag" -> 2)."""
    now = _berlin(now)
    parsed = _parse(text, now, lang)
    ranges = []
    for group in _groups(parsed):
        parts = [p for item in group for p in item.parts]
        span = _combine(parts, now)
        if span:
            ranges.append(_time_range(span, parsed.original(group[0].start, group[-1].end),
                                      _daily(parts, now)))
    return ranges


# A clause that turns a time down ("Today is too short notice.", "Freitag geht nicht",
# "Morgen passt mir leider nicht"); "es geht nicht vor 10" is a wish ("nicht vor 10"), kept.
_REJECTED = re.compile(
    r"\b(?:zu (?:kurzfristig|früh|frueh|spät|spaet|knapp|eng)"
    r"|(?:geht|passt|klappt)(?: (?:es|das|mir|bei mir|da|dann|leider|aber|wirklich))* nicht"
    r"|kann (?:ich )?(?:da |dann |leider |aber )*nicht|keine zeit|nicht möglich|nicht moeglich"
    r"|too (?:short|soon|early|late)|short notice|(?:doesn'?t|does not|won'?t|will not) work"
    r"|(?:doesn'?t|does not) suit|can'?t|cannot|(?:not|isn'?t) possible|no time"
    r"|(?:is|ist) (?:bad|schlecht|ungünstig|unguenstig|doof|blöd)|passt schlecht|bad for me)\b"
    r"(?!\s+(?:vor|nach|früher|frueher|später|spaeter|before|after|earlier|later|until|bis)\b)",
    re.I)
# "Ich arbeite bis halb vier", "my shift ends at 3", "vormittags schlaf ich": the citizen's own
# day, no wish.
_OWN_DAY = re.compile(r"\b(?:ich arbeite|arbeite ich|i work|i'?m working|i am working|meine schicht"
                      r"|my shift|schicht(?:ende)?|feierabend|bin (?:ich )?auf arbeit|schlaf\w*"
                      r"|i sleep|sleeping|i finish|finish work|meeting|besprechung)\b", re.I)
# "I moved here in October", "bin letzte Woche umgezogen": a clause that tells what happened
# (left out when another clause holds a time)
_TOLD_PAST = re.compile(r"\b(?:moved|umgezogen|hergezogen|gezogen|zog|came|kam|kamen|arrived"
                        r"|angekommen|ago|seit|since)\b", re.I)
# "wir fahren im Februar weg", "we're flying to Spain in March", "ich fange im Januar an": the
# trip or the new job the document is for (left out when another clause holds a time)
_TRAVEL = re.compile(r"\b(?:fahren|fahre|fliegen|fliege|reisen|reise|verreisen|urlaub|weg(?:fahren|"
                     r"fliegen)?|travel\w*|flying|fly|trip|holiday|vacation|going away|go away"
                     r"|fange|fängt|anfange|anfangen|beginne|beginnt"
                     r"|neue[nr]? (?:job|stelle|arbeit)|new job"
                     r"|start(?:ing)? (?:my |a )?(?:new )?(?:job|work))\b"
                     r"(?!.*\b(?:termin|appointment|kommen|come)\b)", re.I)
_INSTEAD = re.compile(r"\b(?:statt|anstatt|anstelle von|instead of|rather than)\s+(?:(?:um|am|an"
                      r"|den|dem|der|on|at|the)\s+)?[\w:.]+(?:\s+uhr)?", re.I)
_NOT_BUT = re.compile(r"\b(?:nicht|not|kein\w*)\s+(?:(?:am|den|dem|on|the|um|at)\s+)?[\w:.]+"
                      r"(?:\s+uhr)?(?=\s*,?\s*(?:sondern|but|lieber|rather|aber)\b)", re.I)
# "mein Ausweis läuft im Januar ab", "it expires in january": when a document runs out is no
# wish for the appointment, even when it is the only time in the message.
_EXPIRY = re.compile(r"\b(?:geboren|geb\.|born|geburtsdatum|date of birth|birthday|geburtstag)\b"
                     r"|\b(?:läuft|laeuft|lief)\b.*\bab\b|\b(?:abgelaufen|abläuft|ablaeuft"
                     r"|gültig bis|gueltig bis|expir\w*|runs out|run out|valid until)\b", re.I)
# "Donnerstag, nicht Dienstag", "Thursday, not Tuesday": a clause that starts by negating its
# time ("nicht vor 10" is a wish, kept).
_NEGATED_CLAUSE = re.compile(
    r"^\W*(?:(?:und|and|aber|but|also)\s+)?(?:nicht|not|kein(?:en)?)\s+"
    r"(?!(?:vor|nach|before|after|until|bis|früher|frueher|später|spaeter|earlier|later)\b)",
    re.I)
# Where a clause ends: at a full stop, "!", "?", ";" (not in "am 3. Dezember"), a comma, or
# before "aber" / "but" / "sondern".
_CLAUSE_END = re.compile(
    rf"[.!?;](?=\s+(?!(?:{'|'.join(sorted(MONTH_WORDS, key=len, reverse=True))})\b|\d))"
    r"|,|\s(?=(?:aber|but|sondern)\s)", re.I)


_TURNED_DOWN_AFTER = re.compile(
    r"\W*(?:\w+\W+)?(?:geht|passt|klappt|kann ich|könnte ich|koennte ich)\W+(?:\w+\W+)?"
    r"(?:nicht|nich|ni|leider nicht)\b|\W*(?:is|does|won'?t)n?'?t? (?:work|possible|suit)"
    r"|\W*(?:doesn'?t|does not|won'?t|will not|isn'?t|is not) (?:work|suit|be possible)", re.I)


def _after(text: str, part: str) -> str:
    """What follows `part` in `text`."""
    at = text.find(part)
    return text[at + len(part):] if at >= 0 else ""


def _around(text: str, part: str, words: int = 4) -> str:
    """`part` with up to `words` words either side of it in `text` ("" if not found)."""
    at = text.find(part)
    if at < 0:
        return ""
    before = text[:at].split()[-words:]
    after = text[at + len(part):].split()[:words]
    return " ".join([*before, part, *after])


def resolve(text: str, now: datetime, lang: str | None = None) -> TimeRange | None:
    """All time expressions in `text` combined into one range; None if there is none.

    A clause that turns a time down is left out when another clause holds a time:
    "Today is too short notice. Is next Tuesday after 4:30 possible?" and "Morgen passt mir
    nicht, aber Donnerstag um 10" mean next Tuesday and Thursday. (It is blanked out rather
    than cut, so `.text` still points into the input as written.)"""
    kept, pos, dropped, expiry = [], 0, False, False
    # "nicht Freitag sondern Montag", "um 10 statt um 9": the time turned down inside a clause
    work = _INSTEAD.sub(lambda m: " " * len(m.group()), text)
    work = _NOT_BUT.sub(lambda m: " " * len(m.group()), work)
    if work != text:
        dropped = True
    for end in [m.end() for m in _CLAUSE_END.finditer(work)] + [len(work)]:
        clause = work[pos:end]
        expires = _EXPIRY.search(clause) is not None or _OWN_DAY.search(clause) is not None
        rejected = expires or bool(_REJECTED.search(clause) or _NEGATED_CLAUSE.search(clause)
                                   or _TOLD_PAST.search(clause) or _TRAVEL.search(clause))
        kept.append(" " * len(clause) if rejected else clause)
        dropped |= rejected
        expiry |= expires
        pos = end
    # "bin im Oktober hergezogen …, am Donnerstag?": what lies wholly in the past is told, not
    # wished, when something else is still to come
    kept_text = "".join(kept)
    ranges = extract(text, now, lang)
    left_out = [r for r in ranges if r.end < _berlin(now)]
    # without clause marks (the phone line): the time right beside a trip or a job start, or
    # turned down right after it ("mittwoch geht doch nicht da muss ich zum arzt")
    left_out += [r for r in ranges if r not in left_out and (
        _TRAVEL.search(_around(text, r.text)) or _TURNED_DOWN_AFTER.match(_after(text, r.text)))]
    only_those = text
    if left_out and len(left_out) < len(ranges):
        for r in left_out:
            kept_text, only_those = _blank(kept_text, r.text), _blank(only_those, r.text)
        dropped = True
    if dropped:
        found = _resolve(kept_text, now, lang, written=text)
        if found is None and only_those != text:  # the whole message one clause (spoken)
            found = _resolve(only_those, now, lang, written=text)
        if found is not None or expiry:
            return found
    return _resolve(text, now, lang)


def _blank(text: str, part: str) -> str:
    """`text` with the first `part` in it blanked out (same length)."""
    at = text.find(part)
    return text if at < 0 else text[:at] + " " * len(part) + text[at + len(part):]


def _resolve(text: str, now: datetime, lang: str | None = None,
             written: str | None = None) -> TimeRange | None:
    """`written`: the input as written when `text` is it with clauses blanked out (the same
    length): `.text` quotes it, not the blanks."""
    now = _berlin(now)
    parsed = _parse(text, now, lang)
    if written is not None:
        parsed.text.source = written
    if not parsed.items:
        return None
    parts = [p for item in parsed.items for p in item.parts]
    span = _combine(parts, now)
    if span is None:
        return None
    return _time_range(span, parsed.original(parsed.items[0].start, parsed.items[-1].end),
                       _daily(parts, now))


def _berlin(now: datetime) -> datetime:
    now = now.replace(tzinfo=BERLIN) if now.tzinfo is None else now.astimezone(BERLIN)
    return now.replace(microsecond=0)


def _time_range(span: tuple[datetime, datetime], text: str,
                daily: tuple[time, time] | None = None) -> TimeRange:
    return TimeRange(_real(span[0]), _real(span[1]), text, daily)


def _daily(parts: Sequence[_Part], now: datetime) -> tuple[time, time] | None:
    """The time of day that holds on each day of a span of several days, if one was said."""
    try:
        days = _combine_days([p for p in parts if isinstance(p, _Days)],
                             [p for p in parts if isinstance(p, _Weekday)], now.date())
    except (OverflowError, ValueError):
        return None
    clock = _combine_clock([p for p in parts if isinstance(p, _Clock)],
                           [p for p in parts if isinstance(p, _Daypart)])
    if days is None or clock is None or days[0] == days[1] or clock == (0, _DAY_END):
        return None
    lo, hi = clock
    return time(lo // 3600, lo % 3600 // 60), time(min(hi // 3600, 23), hi % 3600 // 60,
                                                   59 if hi == _DAY_END else 0)


def _real(moment: datetime) -> datetime:
    """A wall time the clocks skip (02:00-02:59 on the last Sunday of March) as the first one
    after the gap (03:00); any other unchanged. (Berlin's gaps begin on a full hour; mapping
    the whole gap to its end keeps start <= end.)"""
    before, after = (moment.replace(fold=f).utcoffset() for f in (0, 1))
    gap = after - before  # type: ignore[operator]
    if gap <= timedelta(0):
        return moment  # a real time, or one of the repeated hour in October
    return moment.replace(minute=0, second=0, fold=0) + gap


def _later(moment: datetime, delta: timedelta) -> datetime:
    """`delta` of real time after `moment` (wall-clock arithmetic would be an hour off across a
    change of the clocks)."""
    return (moment.astimezone(UTC) + delta).astimezone(BERLIN)


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _on_calendar(fn: Callable[_P, _R | None]) -> Callable[_P, _R | None]:
    """`fn`, answering None where its date arithmetic runs off the calendar: a day before year 1
    or after 9999 ("in 3 Jahren" in 9998, "nächste Woche" on 31 December 9999) raises
    OverflowError ("date value out of range") or ValueError ("year 10000 is out of range")."""
    @wraps(fn)
    def guarded(*args: _P.args, **kwargs: _P.kwargs) -> _R | None:
        try:
            return fn(*args, **kwargs)
        except (OverflowError, ValueError):
            return None

    return guarded


# --- meaning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HM:
    """A clock reading as said: "3" may still become 15:00."""

    hour: int
    minute: int = 0
    meridiem: str | None = None  # "am" / "pm" when said
    fixed: bool = False  # written in 24-hour form ("15:00", "09:00", "0 Uhr")

    def seconds(self, shift: str | None) -> int:
        h = self.hour
        if self.meridiem == "am":
            h = 0 if h == 12 else h
        elif self.meridiem == "pm":
            h = h if h == 12 else h + 12
        elif self.fixed or h == 0 or h >= 12:
            pass
        elif shift == "pm" or (shift == "noon" and h <= 5) or (shift is None and h < 7):
            h += 12
        return h * 3600 + self.minute * 60


@dataclass(frozen=True)
class _Clock:
    """An exact time (lo is hi) or a range of times within a day; None = open end."""

    lo: _HM | None
    hi: _HM | None

    @property
    def exact(self) -> bool:
        return self.lo is not None and self.lo == self.hi

    @property
    def open(self) -> bool:
        return self.lo is None or self.hi is None

    def seconds(self, shift: str | None) -> tuple[int, int]:
        start = self.lo.seconds(shift) if self.lo else 0
        if self.exact:
            return start, start
        end = self.hi.seconds(shift) if self.hi else _DAY_END
        if end < start:  # "zwischen 11 und 1" -> 11:00-13:00
            end = end + 12 * 3600 if end < 12 * 3600 else end
            start, end = min(start, end), max(start, end)
        return start, end


_DAYPARTS: dict[str, tuple[int, int, str]] = {  # name -> (from hour, to hour, shift)
    "early": (6, 10, "am"),
    "morning": (8, 12, "am"),
    "noon": (12, 14, "noon"),
    "afternoon": (12, 18, "pm"),
    "evening": (18, 22, "pm"),
}


@dataclass(frozen=True)
class _Daypart:
    name: str


@dataclass(frozen=True)
class _Days:
    """Whole days first..last; `week`: a weekday said with it means that day's week."""

    first: date
    last: date
    week: bool = False


@dataclass(frozen=True)
class _Weekday:
    weekday: int  # Monday = 0
    mod: str = ""  # "", "this", "next", "after_next"

    def alone(self, today: date) -> date:
        if self.mod in ("next", "after_next"):
            monday = today - timedelta(days=today.weekday())
            return monday + timedelta(days=(7 if self.mod == "next" else 14) + self.weekday)
        ahead = (self.weekday - today.weekday()) % 7
        return today + timedelta(days=ahead if ahead or self.mod == "this" else 7)


@dataclass(frozen=True)
class _Span:
    start: datetime
    end: datetime


_Part = _Clock | _Daypart | _Days | _Weekday | _Span


# --- combining ------------------------------------------------------------------------------


def _at(day: date, seconds: int) -> datetime:
    return datetime(day.year, day.month, day.day, seconds // 3600, seconds // 60 % 60,
                    seconds % 60, tzinfo=BERLIN)


@_on_calendar
def _combine(parts: Sequence[_Part], now: datetime) -> tuple[datetime, datetime] | None:
    today = now.date()
    days = _combine_days([p for p in parts if isinstance(p, _Days)],
                         [p for p in parts if isinstance(p, _Weekday)], today)
    clock = _combine_clock([p for p in parts if isinstance(p, _Clock)],
                           [p for p in parts if isinstance(p, _Daypart)])
    spans = [p for p in parts if isinstance(p, _Span)]
    if days is None:
        if spans:  # "asap" / "in 2 Stunden"; a time of day alone does not narrow it
            return min(s.start for s in spans), max(s.end for s in spans)
        if clock is None:
            return None
        day = today if _at(today, clock[1]) >= now else today + timedelta(days=1)
        days = (day, day)
    first, last = days
    if clock is None:
        return _at(first, 0), _at(last, _DAY_END)
    return _at(first, clock[0]), _at(last, clock[1])


def _combine_clock(clocks: list[_Clock], dayparts: list[_Daypart]) -> tuple[int, int] | None:
    """Seconds from midnight. Exact times and closed ranges win over day parts (which only
    move "3" to 15:00); open ranges ("ab 15 Uhr", "bis 10") narrow whatever else was said."""
    shift = _DAYPARTS[dayparts[0].name][2] if dayparts else None
    windows = [c.seconds(shift) for c in clocks if not c.open] or [
        (_DAYPARTS[d.name][0] * 3600, _DAYPARTS[d.name][1] * 3600) for d in dayparts]
    bounds = [c.seconds(shift) for c in clocks if c.open]
    if not windows and not bounds:
        return None
    lo, hi = (min(w[0] for w in windows), max(w[1] for w in windows)) if windows else (
        0, _DAY_END)
    for start, end in bounds:
        if max(lo, start) <= min(hi, end):
            lo, hi = max(lo, start), min(hi, end)
    return lo, hi


def _combine_days(ranges: list[_Days], weekdays: list[_Weekday],
                  today: date) -> tuple[date, date] | None:
    if not ranges:
        if not weekdays:
            return None
        picked = [w.alone(today) for w in weekdays]
        return min(picked), max(picked)
    smallest = min(ranges, key=lambda r: r.last - r.first)
    if all(r.first <= smallest.first and smallest.last <= r.last for r in ranges):
        first, last = smallest.first, smallest.last
    else:
        first, last = min(r.first for r in ranges), max(r.last for r in ranges)
    if weekdays:
        if len(ranges) == 1 and ranges[0].week:
            lo = first - timedelta(days=first.weekday())
            hi = lo + timedelta(days=6)
        else:
            lo, hi = first, last
        picked = [d for d in (_weekday_in(w.weekday, lo, hi, today) for w in weekdays) if d]
        if picked:
            return min(picked), max(picked)
    return first, last


def _weekday_in(weekday: int, lo: date, hi: date, today: date) -> date | None:
    """The first such weekday in lo..hi that is not past, else the first one; None if none."""
    first = lo + timedelta(days=(weekday - lo.weekday()) % 7)
    if first > hi:
        return None
    start = max(lo, today)
    upcoming = start + timedelta(days=(weekday - start.weekday()) % 7)
    return upcoming if upcoming <= hi else first


# --- calendar helpers -----------------------------------------------------------------------


def _date_or_none(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_date(day: int, month: int, year: int | None, today: date) -> date | None:
    """The date; without a year its next occurrence from today on."""
    if year is not None:
        return _date_or_none(year, month, day)
    for y in range(today.year, today.year + 8):  # 29 February waits for a leap year
        d = _date_or_none(y, month, day)
        if d and d >= today:
            return d
    return None


def _next_day_of_month(day: int, today: date) -> date | None:
    year, month = today.year, today.month
    for _ in range(13):
        d = _date_or_none(year, month, day)
        if d and d >= today:
            return d
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _year(text: str | None) -> int | None:
    if not text:
        return None
    y = int(text)
    return y + 2000 if y < 100 else y


_MONTH_PARTS = {"anfang": (1, 7), "mitte": (11, 20), "ende": (22, 31)}
_WEEK_PARTS = {"anfang": (0, 1), "mitte": (1, 3), "ende": (3, 4)}


def _part_key(word: str | None) -> str | None:
    if not word:
        return None
    word = word.split()[0]
    if word in ("anfang", "beginning", "start", "early"):
        return "anfang"
    if word in ("mitte", "middle", "mid"):
        return "mitte"
    return "ende"


def _month_days(month: int, year: int | None, part: str | None, today: date) -> _Days:
    def span(y: int) -> _Days:
        last_day = calendar.monthrange(y, month)[1]
        lo, hi = _MONTH_PARTS.get(part or "", (1, last_day))
        return _Days(date(y, month, lo), date(y, month, min(hi, last_day)))

    if year is not None:
        return span(year)
    this = span(today.year)
    return this if this.last >= today else span(today.year + 1)


def _add_months(day: date, months: int) -> date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _mod_key(word: str | None) -> str:
    """ "nächsten" -> "next", "übernächste" -> "after_next", "diese" / "this" -> "this";
    "" for none and for "kommende" / "coming" / "following" (the next one, as if bare)."""
    if not word or "coming" in word or "following" in word:
        return ""
    if word.startswith("uebernaechst") or "after next" in word:
        return "after_next"
    if word.startswith(("naechst", "next")):
        return "next"
    if word.startswith(("dies", "this")):
        return "this"
    return ""


def _week_days(mod: str, today: date, offsets: tuple[int, int] = (0, 6),
               roll: bool = False) -> _Days:
    monday = today - timedelta(days=today.weekday())
    monday += timedelta(days={"next": 7, "after_next": 14}.get(mod, 0))
    days = _Days(monday + timedelta(days=offsets[0]), monday + timedelta(days=offsets[1]))
    if roll and days.last < today:
        days = _Days(days.first + timedelta(days=7), days.last + timedelta(days=7))
    return days


# --- normalised text ------------------------------------------------------------------------


def _alt(words: Iterable[str]) -> str:
    """Regex alternation, longest first; a space or hyphen inside a word matches either."""
    return "|".join(re.escape(w).replace(r"\-", "-").replace(" ", "-").replace("-", r"[\s-]*")
                    for w in sorted(words, key=len, reverse=True))


def _squash(words: str) -> str:
    """ "twenty-five" / "twenty five" -> "twentyfive": the key of the lookup tables."""
    return re.sub(r"[\s-]", "", words)


def _fold(word: str) -> str:
    return word.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


_GERMAN_NUMBERS = {w: n for w, n in GERMAN_CARDINALS.items() if w == _fold(w)}
_GERMAN_ORDINAL_WORDS = {w: n for w, n in GERMAN_ORDINALS.items() if w == _fold(w)}
_MONTHS = {w: n for w, n in MONTH_WORDS.items() if w == _fold(w)}
# Month names that are a month on their own; "may", "march" and abbreviations need a day,
# a year or "im"/"in" with them.
_MONTHS_ALONE = {"januar", "jaenner", "january", "februar", "feber", "february", "maerz",
                 "april", "mai", "juni", "june", "juli", "july", "august", "september",
                 "oktober", "october", "november", "dezember", "december"}
_NUMBER_WORDS: dict[str, str] = (
    {w: str(n) for w, n in _GERMAN_NUMBERS.items()}
    | {w: str(n) for w, n in ENGLISH_CARDINALS.items()}
    | {w: f"{n}." for w, n in _GERMAN_ORDINAL_WORDS.items()}
    | {w: f"{n}{ordinal_suffix(n)}" for w, n in ENGLISH_ORDINALS.items()}
)
_NUMBER_LOOKUP = {_squash(w): v for w, v in _NUMBER_WORDS.items()}
_NUMBER_WORD_RE = re.compile(rf"\b(?:{_alt(_NUMBER_WORDS)}|ein(?=\s+uhr\b))\b")
_NUMBER_PARTS = {part for w in _NUMBER_WORDS for part in re.split(r"[\s-]", w)} | {"ein"}
_WORD = re.compile(r"[a-z]+")
_MONTH_RE = rf"(?:{_alt(_MONTHS)})\b\.?"
_SECOND_DATE = re.compile(rf"\s+(?:of\s+)?(?:{_alt(_MONTHS)})\b")
_UMLAUTS = re.compile("[äöüß]")
_TRANSLATE = str.maketrans({"–": "-", "—": "-", "‑": "-", "’": "'", "`": "'", "´": "'",
                            "\u00a0": " ", "\u202f": " "})

_GREETINGS = re.compile(
    r"\b(?:(?:schoenen\s+)?guten\s+(?:morgen|tag|abend)|gute\s+nacht"
    r"|(?:(?:einen|noch\s+einen)\s+)?schoenen\s+(?:tag|abend|nachmittag|vormittag|morgen)"
    r"(?:\s+noch)?|schoenes\s+wochenende|morgen\s+(?:zusammen|allerseits)"
    r"|good\s+(?:morning|afternoon|evening|night)|see\s+you\s+tomorrow"
    r"|bis\s+morgen(?=\s*[!.]*\s*$)"
    r"|(?:have\s+a\s+)?(?:nice|good|great|lovely)\s+(?:day|evening|afternoon|morning|weekend))\b")
_GREETING_WORDS = ("gute", "schoen", "good", "nice", "great", "lovely", "zusammen", "allerseits",
                   "see you", "bis morgen")
_CODE = re.compile(r"(?<![\w-])([a-z0-9]{3})([\s-]?)([a-z0-9]{3})(?![\w-])")
_CODE_TIMEISH = re.compile(r"\d{1,2}(?:am|pm|h)")


class _Text:
    """The input lower-cased, umlauts folded, number words as digits, greetings and codes masked,
    with each character mapped back to the span of the input it came from."""

    __slots__ = ("ends", "norm", "source", "starts")

    def __init__(self, source: str) -> None:
        self.source = source
        lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in source)
        self.norm = lowered.translate(_TRANSLATE)
        self.starts = list(range(len(source)))
        self.ends = list(range(1, len(source) + 1))
        self._sub(_UMLAUTS, lambda m: _fold(m.group(0)))
        if not _NUMBER_PARTS.isdisjoint(_WORD.findall(self.norm)):
            self._sub(_NUMBER_WORD_RE, self._number)
        if any(w in self.norm for w in _GREETING_WORDS):
            self._sub(_GREETINGS, lambda m: "#")
        if any(d in self.norm for d in _DIGITS):
            self._sub(_CODE, _mask_code)

    def _number(self, m: re.Match[str]) -> str | None:
        word = _squash(m.group(0))
        if word == "ein":
            return "1"
        if word == "second" and not _SECOND_DATE.match(self.norm, m.end()):
            return None  # "wait a second", "a second appointment"
        return _NUMBER_LOOKUP[word]

    def _sub(self, pattern: re.Pattern[str], repl: Callable[[re.Match[str]], str | None]) -> None:
        out: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for m in pattern.finditer(self.norm):
            new = repl(m)
            if new is None:
                continue
            a, b = m.span()
            out += [self.norm[pos:a], new]
            starts += self.starts[pos:a] + [self.starts[a]] * len(new)
            ends += self.ends[pos:a] + [self.ends[b - 1]] * len(new)
            pos = b
        if out:
            out.append(self.norm[pos:])
            self.norm = "".join(out)
            self.starts = starts + self.starts[pos:]
            self.ends = ends + self.ends[pos:]

    def original(self, start: int, end: int) -> str:
        return self.source[self.starts[start]:self.ends[end - 1]]

    def has_digit_in_source(self, start: int, end: int) -> bool:
        return any(c.isdigit() for c in self.original(start, end))


def _mask_code(m: re.Match[str]) -> str | None:
    """Reference codes ("K7Q-M4P") mix letters and digits; "2pm-4pm" is a time range."""
    halves = (m.group(1), m.group(3))
    if m.group(2) == " " and not all(_mixed(h) for h in halves):
        return None
    if not _mixed(halves[0] + halves[1]) or all(_CODE_TIMEISH.fullmatch(h) for h in halves):
        return None
    return "#"


def _mixed(s: str) -> bool:
    return any(c.isdigit() for c in s) and any(c.isalpha() for c in s)


# --- atoms: what the rules find, before context decides -------------------------------------


@dataclass
class _Atom:
    start: int
    end: int
    kind: str  # "clock", "num", "dm", "daynum", "day", "weekday", "daypart", "span"
    parts: tuple[_Part, ...] = ()
    value: tuple[int, ...] = ()  # num: (n,); dm: (a, b); daynum: (day,)
    priority: int = 0  # the rule's place in _RULES: breaks ties between equal matches


@dataclass
class _Ctx:
    text: _Text
    now: datetime
    lang: str | None

    @property
    def today(self) -> date:
        return self.now.date()


_Rule = Callable[[re.Match[str], _Ctx], _Atom | None]
_RULES: list[tuple[re.Pattern[str], _Rule, tuple[str, ...]]] = []
_DIGITS = tuple("0123456789")


def _rule(pattern: str, needs: tuple[str, ...] = ()) -> Callable[[_Rule], _Rule]:
    """Register a rule; `needs`: substrings one of which must be in the text (a cheap gate)."""
    def register(handler: _Rule) -> _Rule:
        _RULES.append((re.compile(pattern), _on_calendar(handler), needs))
        return handler

    return register


def _atom(m: re.Match[str], kind: str, *parts: _Part, value: tuple[int, ...] = (),
          end: int | None = None) -> _Atom:
    return _Atom(m.start(), m.end() if end is None else end, kind, parts, value)


# A number starts here: not inside a word, code, date or decimal, nor after "0351-" (phone);
# "14-16 Uhr" is fine.
_N = r"(?<![\w.:/,])(?<!\d{3}-)"
_YEAR4 = r"(?:19|20)\d\d"  # a four-digit year; "0351" is an area code
_WEEKDAYS = {"montag": 0, "monday": 0, "dienstag": 1, "tuesday": 1, "mittwoch": 2,
             "wednesday": 2, "donnerstag": 3, "thursday": 3, "freitag": 4, "friday": 4,
             "samstag": 5, "sonnabend": 5, "saturday": 5, "sonntag": 6, "sunday": 6}
_WEEKDAY_ABBR = {"mo": 0, "di": 1, "mi": 2, "fr": 4, "sa": 5, "mon": 0, "tue": 1, "tues": 1,
                 "wed": 2, "thu": 3, "thur": 3, "thurs": 3, "fri": 4}
_WEEKDAY_ABBR_DOTTED = {"do": 3, "so": 6, "sat": 5, "sun": 6}  # words too: need a dot or date
_MOD = (r"uebernaechste[nrs]?|naechste[nrms]?|kommende[nrms]?|diese[nrms]?|"
        r"(?:the|this)\s+(?:coming|following)|coming|following|next|this")
_DAYPART_WORDS = {
    "fruehmorgens": "early", "frueh morgens": "early", "frueh": "early", "in der frueh": "early",
    "early morning": "early", "early in the morning": "early",
    "morgens": "morning", "am morgen": "morning", "vormittag": "morning",
    "vormittags": "morning", "morning": "morning", "mornings": "morning",
    "mittag": "noon", "mittags": "noon", "mittagszeit": "noon", "noon": "noon",
    "midday": "noon", "lunchtime": "noon", "lunch time": "noon", "lunch": "noon",
    "nachmittag": "afternoon", "nachmittags": "afternoon", "afternoon": "afternoon",
    "afternoons": "afternoon", "arvo": "afternoon", "pm": "afternoon",
    "abend": "evening", "abends": "evening", "evening": "evening", "evenings": "evening",
}
_DAYPART_LOOKUP = {_squash(w): name for w, name in _DAYPART_WORDS.items()}
_GLUED_DAYPART = {"morgen": "morning", "frueh": "early", "vormittag": "morning", "mittag": "noon",
                  "nachmittag": "afternoon", "abend": "evening"}
_UNITS_AFTER = (r"(?!\s*(?:minuten|min\b|stunden|std\b|tage\b|tagen|wochen|monate|monaten|jahre"
                r"|jahren|leute|personen|person\b|kinder|euro|eur\b|€|%|prozent|mal\b|x\b"
                r"|termine|termin\b|stueck|minutes|mins?\b|hours?\b|hrs?\b|days?\b|weeks?\b"
                r"|months?\b|years?\b|people|persons?\b|children|kids|appointments?|times\b"
                r"|pieces?\b|dollars?\b|[.,]\d))")
_MERIDIEM = r"(?P<mer>am\b|pm\b|a\.\s?m\.|p\.\s?m\.)"
# Where an hour or minute number ends: not inside "8.30" / "8:30" nor a date ("8. Dezember",
# "8.12."), but a full stop that ends the sentence is fine ("Freitag um halb acht.").
_NUM_END = rf"(?![\d:]|\.\s*(?:\d|{_MONTH_RE}))"
_GERMAN_AM = re.compile(
    rf"\s+(?:(?:{_MOD})\s+)?(?:{_alt(_WEEKDAYS)}|wochenende|vormittag|nachmittag|abend|morgen"
    r"|mittag|anfang|ende|mitte|liebsten|besten|selben|gleichen|tag\b|\d)")


def _hm(hour: str | int, minute: str | int = 0, mer: str | None = None,
        text: str = "") -> _HM | None:
    h, mi = int(hour), int(minute)
    meridiem = None if not mer else ("am" if mer.startswith("a") else "pm")
    if mi > 59 or h > 23 or (meridiem and not 1 <= h <= 12):
        return None
    return _HM(h, mi, meridiem, fixed=h >= 13 or h == 0 or text.startswith("0"))


def _colloquial(hour: int, minute: int) -> _HM | None:
    """ "halb 3" = _colloquial(2, 30); hour 0 means 12 ("halb eins" = 12:30)."""
    if not 0 <= hour <= 23:
        return None
    return _HM(hour or 12, minute)


def _meridiem_ok(m: re.Match[str], ctx: _Ctx) -> bool:
    """German "am" after a number ("um 10 am Montag") is not a.m."""
    mer = m.group("mer")
    if not mer or not mer.startswith("am") or ctx.lang == "en":
        return True
    if m.group(0)[m.start("mer") - m.start() - 1].isdigit():
        return True  # "10am" written together
    return ctx.lang != "de" and not _GERMAN_AM.match(ctx.text.norm, m.end())


def _clock_atom(m: re.Match[str], hm: _HM | None) -> _Atom | None:
    return _atom(m, "clock", _Clock(hm, hm)) if hm else None


@_rule(rf"{_N}(?P<h>\d{{1,2}})\s?:\s?(?P<m>\d{{2}})(?::\d{{2}})?(?!\d)"
       rf"(?:\s*(?:uhr\b|h\b)|\s*{_MERIDIEM})?", needs=_DIGITS)
def _r_colon(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    mer = m.group("mer") if _meridiem_ok(m, ctx) else None
    end = m.end()
    if m.group("mer") and not mer:  # "10:30 am Montag": the "am" is German
        end = m.start() + len(m.group(0)[: m.start("mer") - m.start()].rstrip())
    hm = _hm(m.group("h"), m.group("m"), mer, m.group("h"))
    return _atom(m, "clock", _Clock(hm, hm), end=end) if hm else None


@_rule(rf"{_N}(?P<h>\d{{1,2}})\.(?P<m>\d{{2}})\s*(?:uhr\b|h\b|{_MERIDIEM})", needs=_DIGITS)
def _r_dot_uhr(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    if not _meridiem_ok(m, ctx):
        return None
    return _clock_atom(m, _hm(m.group("h"), m.group("m"), m.group("mer"), m.group("h")))


@_rule(rf"{_N}(?P<h>\d{{1,2}})\s?(?:uhr|h)\b(?:\s?(?P<m>\d{{1,2}}){_NUM_END}{_UNITS_AFTER}"
       rf"(?!\s*{_MONTH_RE}))?", needs=_DIGITS)
def _r_uhr(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _clock_atom(m, _hm(m.group("h"), m.group("m") or 0, None, m.group("h")))


@_rule(rf"{_N}(?P<h>\d{{1,2}})(?:h(?P<m>\d{{2}}))(?!\w)", needs=_DIGITS)
def _r_h_minutes(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _clock_atom(m, _hm(m.group("h"), m.group("m"), None, m.group("h")))


@_rule(rf"{_N}(?P<h>\d{{1,2}})\s?{_MERIDIEM}", needs=_DIGITS)
def _r_meridiem(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    if not _meridiem_ok(m, ctx):
        return None
    return _clock_atom(m, _hm(m.group("h"), 0, m.group("mer")))


@_rule(rf"{_N}(?P<h>\d{{1,2}})\s*o'?\s?clock\b(?:\s*{_MERIDIEM})?", needs=("clock",))
def _r_oclock(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _clock_atom(m, _hm(m.group("h"), 0, m.group("mer")))


@_rule(r"\b(?:at\s+noon|12\s*noon|high\s+noon)\b", needs=("noon",))
def _r_noon(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _clock_atom(m, _HM(12, 0, fixed=True))


@_rule(rf"\bhalb\s+(?P<h>\d{{1,2}}){_NUM_END}(?:\s*uhr\b)?", needs=("halb",))
def _r_halb(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _clock_atom(m, _colloquial(int(m.group("h")) - 1, 30))


@_rule(r"\b(?:(?P<three>drei\s*viertel|dreiviertel|3\s*viertel)|viertel(?:\s+(?P<dir>nach|vor))?)"
       rf"\s+(?P<h>\d{{1,2}}){_NUM_END}(?:\s*uhr\b)?", needs=("viertel",))
def _r_viertel(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    h = int(m.group("h"))
    if m.group("three") or m.group("dir") == "vor":
        return _clock_atom(m, _colloquial(h - 1, 45))
    if m.group("dir") == "nach":
        return _clock_atom(m, _colloquial(h, 15))
    return _clock_atom(m, _colloquial(h - 1, 15))  # Saxon "viertel zehn" = 09:15


@_rule(rf"{_N}(?P<mi>\d{{1,2}})\s+(?:minuten\s+)?(?P<dir>vor|nach)\s+(?P<half>halb\s+)?"
       rf"(?P<h>\d{{1,2}}){_NUM_END}(?:\s*uhr\b)?", needs=("vor", "nach"))
def _r_minutes_de(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    mi, h = int(m.group("mi")), int(m.group("h"))
    if not 1 <= mi <= 29 or not 1 <= h <= 24:
        return None
    base = (h - 1) * 60 + 30 if m.group("half") else h * 60
    total = base - mi if m.group("dir") == "vor" else base + mi
    return _clock_atom(m, _colloquial(total // 60 % 24, total % 60))


@_rule(rf"\b(?:a\s+)?(?P<q>quarter|half)\s+(?P<dir>past|after|to|till|til|before|of)\s+"
       rf"(?P<h>\d{{1,2}}){_NUM_END}(?:\s*{_MERIDIEM})?", needs=("quarter", "half"))
def _r_quarter_en(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    h = int(m.group("h"))
    mi = 15 if m.group("q") == "quarter" else 30
    if m.group("dir") in ("past", "after"):
        hm = _colloquial(h, mi)
    elif m.group("q") == "half":
        return None
    else:
        hm = _colloquial(h - 1, 60 - mi)
    if hm and m.group("mer"):
        hm = replace(hm, meridiem="am" if m.group("mer").startswith("a") else "pm")
    return _clock_atom(m, hm)


@_rule(rf"\bhalf\s+(?P<h>\d{{1,2}}){_NUM_END}", needs=("half",))
def _r_half_en(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _clock_atom(m, _colloquial(int(m.group("h")), 30))  # British "half nine" = 09:30


@_rule(rf"{_N}(?P<mi>\d{{1,2}})\s+(?:minutes\s+)?(?P<dir>past|after|to|till|before)\s+"
       rf"(?P<h>\d{{1,2}}){_NUM_END}(?:\s*{_MERIDIEM})?",
       needs=("past", "after", "to", "till", "before"))
def _r_minutes_en(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    mi, h = int(m.group("mi")), int(m.group("h"))
    if not 1 <= mi <= 29 or not 1 <= h <= 24:
        return None
    if m.group("dir") in ("to", "till") and (
            mi % 5 or ctx.text.has_digit_in_source(m.start("mi"), m.end("mi"))):
        return None  # "10 to 12" typed is a range; "ten to twelve" said is 11:50
    total = h * 60 + (mi if m.group("dir") in ("past", "after") else -mi)
    hm = _colloquial(total // 60 % 24, total % 60)
    if hm and m.group("mer"):
        hm = replace(hm, meridiem="am" if m.group("mer").startswith("a") else "pm")
    return _clock_atom(m, hm)


@_rule(rf"{_N}(?P<n>\d{{1,2}})(?![\w:]|[.,]\d){_UNITS_AFTER}", needs=_DIGITS)
def _r_num(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _atom(m, "num", value=(int(m.group("n")),))


# --- day rules ------------------------------------------------------------------------------

@_rule(r"\b(?P<rel>heute|today|uebermorgen|morgen|tomorrow|(?:the\s+)?day\s+after\s+tomorrow"
       r"|tonight|tonite)\b(?!s)(?:\s+(?P<dp>frueh|morgen)\b(?!s))?",
       needs=("heute", "today", "morgen", "tomorrow", "toni"))
def _r_relday(m: re.Match[str], ctx: _Ctx) -> _Atom:
    rel = m.group("rel")
    offset = 0 if rel in ("heute", "today", "tonight", "tonite") else (
        1 if rel in ("morgen", "tomorrow") else 2)
    day = ctx.today + timedelta(days=offset)
    parts: list[_Part] = [_Days(day, day)]
    if rel.startswith("toni"):
        parts.append(_Daypart("evening"))
    elif m.group("dp"):
        parts.append(_Daypart("early" if m.group("dp") == "frueh" else "morning"))
    return _atom(m, "day", *parts)


@_rule(r"\bthis\s+(?P<dp>morning|afternoon|evening)\b", needs=("this",))
def _r_this_daypart(m: re.Match[str], ctx: _Ctx) -> _Atom:
    return _atom(m, "day", _Days(ctx.today, ctx.today), _Daypart(m.group("dp")))


@_rule(rf"\b(?:(?P<mod>{_MOD})\s+)?(?P<wd>{_alt(_WEEKDAYS)})"
       rf"(?:(?P<glued>{_alt(_GLUED_DAYPART)})s?|s)?\b(?:\s+(?P<dp>morgen)\b(?!s))?",
       needs=("tag", "day", "mittwoch", "sonnabend"))
def _r_weekday(m: re.Match[str], ctx: _Ctx) -> _Atom:
    parts: list[_Part] = [_Weekday(_WEEKDAYS[m.group("wd")], _mod_key(m.group("mod")))]
    if m.group("glued") or m.group("dp"):
        parts.append(_Daypart(_GLUED_DAYPART[m.group("glued") or m.group("dp")]))
    return _atom(m, "weekday", *parts)


@_rule(rf"\b(?P<wd>{_alt(_WEEKDAY_ABBR)})\b\.?")
def _r_weekday_abbr(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    if m.group("wd") == "fr" and _capitalised_noun_after(ctx.text, m.end()):
        return None  # "Fr. Müller" is Frau Müller
    return _atom(m, "weekday", _Weekday(_WEEKDAY_ABBR[m.group("wd")]))


@_rule(rf"\b(?P<wd>{_alt(_WEEKDAY_ABBR_DOTTED)})(?:\.\s*,?\s*(?=\d)|(?=\s*,?\s*\d{{1,2}}\.\d))",
       needs=_DIGITS)
def _r_weekday_abbr_dotted(m: re.Match[str], ctx: _Ctx) -> _Atom:
    return _atom(m, "weekday", _Weekday(_WEEKDAY_ABBR_DOTTED[m.group("wd")]))


@_rule(r"(?:\bam\s+)(?P<wd>do|so)\b|\b(?P<wd2>do)(?=\s*[.!]?\s*$)|\b(?P<wd3>do|so)(?=\s+(?:um\s+)?\d"
       r"|\s+(?:vormittags?|nachmittags?|morgens?|abends?|frueh)\b)",
       needs=("do", "so"))
def _r_weekday_abbr_german(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    """"Termin Reisepass Großenhain Do", "am So", "Do 10 Uhr": the German short forms that
    are English words too count where only a day fits, in German messages only."""
    if ctx.lang != "de":
        return None
    day = m.group("wd") or m.group("wd2") or m.group("wd3")
    return _atom(m, "weekday", _Weekday(_WEEKDAY_ABBR_DOTTED[day]))


@_rule(r"\b(?:in\s+)?(?:(?:der|the)\s+)?(?P<mod>diese[rnms]?|this|naechste[rnms]?"
       r"|kommende[rnms]?|next|coming|uebernaechste[rnms]?)\s+(?:woche|week)\b"
       r"|\b(?:the\s+)?week\s+after\s+next\b", needs=("woche", "week"))
def _r_week(m: re.Match[str], ctx: _Ctx) -> _Atom:
    mod = _mod_key(m.group("mod") or "after next")
    return _atom(m, "day", _week_days(mod or "next", ctx.today))


@_rule(r"\b(?P<part>anfang|mitte|ende|beginning\s+of|start\s+of|middle\s+of|end\s+of|early"
       r"|mid|late)\s+(?:(?:der|the)\s+)?(?:(?P<mod>diese[rnms]?|this|naechste[rnms]?"
       r"|kommende[rnms]?|next|coming|uebernaechste[rnms]?)\s+)?(?:woche|week)\b",
       needs=("woche", "week"))
def _r_week_part(m: re.Match[str], ctx: _Ctx) -> _Atom:
    mod = _mod_key(m.group("mod"))
    if m.group("mod") and not mod:
        mod = "next"  # kommende / coming week
    part = _WEEK_PARTS[_part_key(m.group("part")) or "ende"]
    return _atom(m, "day", _week_days(mod, ctx.today, part, roll=not m.group("mod")))


@_rule(r"\b(?:kw|kalenderwoche|calendar\s+week)\s*(?P<kw>\d{1,2})\b", needs=_DIGITS)
def _r_calendar_week(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    iso_year = ctx.today.isocalendar()[0]
    for year in (iso_year, iso_year + 1):
        try:
            monday = date.fromisocalendar(year, int(m.group("kw")), 1)
        except ValueError:
            return None
        if monday + timedelta(days=6) >= ctx.today:
            return _atom(m, "day", _Days(monday, monday + timedelta(days=6)))
    return None


@_rule(r"\b(?:(?P<mod>naechste[sn]?|kommende[sn]?|diese[sn]?|uebernaechste[sn]?|next|this"
       r"|coming)\s+)?(?:wochenende|weekend)\b", needs=("wochenende", "weekend"))
def _r_weekend(m: re.Match[str], ctx: _Ctx) -> _Atom:
    mod = _mod_key(m.group("mod"))
    if m.group("mod") and not mod:
        mod = "next" if ctx.today.weekday() >= 5 else ""  # "kommendes Wochenende"
    return _atom(m, "day", _week_days(mod, ctx.today, (5, 6)))


@_rule(rf"\b(?P<part>anfang|mitte|ende|beginning\s+of|start\s+of|middle\s+of|end\s+of|early"
       rf"|mid|late)[\s-]+(?:(?:the\s+)?month\s+of\s+)?(?P<mon>{_MONTH_RE})"
       rf"(?:\s+(?P<y>{_YEAR4})\b)?",
       needs=("anfang", "mitte", "ende", "beginning", "start", "mid", "end", "early", "late"))
def _r_month_part(m: re.Match[str], ctx: _Ctx) -> _Atom:
    month = _MONTHS[m.group("mon").rstrip(".")]
    return _atom(m, "day", _month_days(month, _year(m.group("y")), _part_key(m.group("part")),
                                       ctx.today))


@_rule(r"\b(?:(?P<part>anfang|mitte|ende|beginning\s+of|start\s+of|middle\s+of|end\s+of|early"
       r"|mid|late)\s+(?:(?:des|the)\s+)?|(?:(?:im|in|the)\s+)?)(?P<mod>diese[nms]?|this"
       r"|naechste[nms]?|kommende[nms]?|next|coming|uebernaechste[nms]?)?\s*(?:monats?|month)\b",
       needs=("monat", "month"))
def _r_month_relative(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    if not m.group("part") and not m.group("mod"):
        return None  # "Monat" alone
    mod = _mod_key(m.group("mod"))
    if m.group("mod") and not mod:
        mod = "next"
    months = {"next": 1, "after_next": 2}.get(mod, 0)
    first = _add_months(ctx.today.replace(day=1), months)
    return _atom(m, "day", _month_days(first.month, first.year, _part_key(m.group("part")),
                                       ctx.today))


@_rule(rf"\b(?:(?P<pre>im|in|during|(?:im|in)\s+(?:the\s+)?(?:monat|month)(?:\s+of)?)\s+)?"
       rf"(?P<mon>{_MONTH_RE})(?:\s+(?P<y>{_YEAR4})\b)?")
def _r_month(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    word = m.group("mon").rstrip(".")
    if not m.group("pre") and not m.group("y") and word not in _MONTHS_ALONE:
        return None
    return _atom(m, "day", _month_days(_MONTHS[word], _year(m.group("y")), None, ctx.today))


def _day_atom(m: re.Match[str], ctx: _Ctx, day: int, month: int,
              year: int | None) -> _Atom | None:
    d = _next_date(day, month, year, ctx.today)
    return _atom(m, "day", _Days(d, d)) if d else None


@_rule(r"(?<![\w.])(?P<d>\d{1,2})\.\s?(?P<m>\d{1,2})\.(?:(?P<y>\d{2}(?!\d)(?!\s*(?:uhr|h\b|:)))"
       rf"|\s?(?P<y4>{_YEAR4})(?!\d))?", needs=_DIGITS)
def _r_dotted_date(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _day_atom(m, ctx, int(m.group("d")), int(m.group("m")),
                     _year(m.group("y") or m.group("y4")))


@_rule(r"(?<![\w.])(?P<a>\d{1,2})\.(?P<b>\d{1,2})(?![\d]|\.\d)(?!\s*(?:euro|eur\b|€|%|kg|km))",
       needs=_DIGITS)
def _r_dotted_pair(m: re.Match[str], ctx: _Ctx) -> _Atom:
    return _atom(m, "dm", value=(int(m.group("a")), int(m.group("b"))))


@_rule(rf"(?<![\w.-])(?P<y>{_YEAR4})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}})(?![\w-])", needs=_DIGITS)
def _r_iso(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _day_atom(m, ctx, int(m.group("d")), int(m.group("m")), int(m.group("y")))


@_rule(rf"(?<![\w./])(?P<a>\d{{1,2}})/(?P<b>\d{{1,2}})(?:/(?P<y>{_YEAR4}|\d{{2}}))?(?![\w/])",
       needs=_DIGITS)
def _r_slash(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    a, b = int(m.group("a")), int(m.group("b"))
    readings = [(b, a), (a, b)] if ctx.lang == "en" else [(a, b), (b, a)]  # (day, month)
    atoms = [atom for day, month in readings if 1 <= month <= 12
             and (atom := _day_atom(m, ctx, day, month, _year(m.group("y"))))]
    if ctx.lang == "en" and len(atoms) == 2 and not m.group("y"):
        # English writers use both orders ("3/12" from a Briton, "12/3" from an American):
        # the reading that comes sooner is the one meant for an appointment
        return min(atoms, key=lambda atom: next(p.first for p in atom.parts
                                                if isinstance(p, _Days)))
    return atoms[0] if atoms else None


@_rule(rf"(?<![\w.])(?P<d>\d{{1,2}})(?:\.|st|nd|rd|th)?\s*(?:of\s+)?(?P<mon>{_MONTH_RE})"
       rf"(?:\s*,?\s*(?P<y>{_YEAR4})(?!\d)(?!\s*(?:uhr|:)))?", needs=_DIGITS)
def _r_day_month(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _day_atom(m, ctx, int(m.group("d")), _MONTHS[m.group("mon").rstrip(".")],
                     _year(m.group("y")))


@_rule(rf"\b(?P<mon>{_MONTH_RE})\s+(?:the\s+)?(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?![\w:]|\.\s*\d)"
       rf"{_UNITS_AFTER}(?!\s*(?:uhr\b|h\b|am\b|pm\b|a\.m|p\.m|o'?clock|:|-\s*\d|bis\b))"
       rf"(?:\s*,?\s*(?P<y>{_YEAR4})(?!\d))?", needs=_DIGITS)
def _r_month_day(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    return _day_atom(m, ctx, int(m.group("d")), _MONTHS[m.group("mon").rstrip(".")],
                     _year(m.group("y")))

# Days asked about for opening hours ("Hat Riesa an Silvester offen?"): (day, month).
_HOLIDAYS = {"silvester": (31, 12), "heiligabend": (24, 12), "neujahr": (1, 1)}


@_rule(rf"(?<!prosit\s)(?<!prost\s)\b(?:(?P<sil>silvester(?:abend|tag)?|new\s+year'?s\s+eve)"
       r"|(?P<hei>heilig(?:en|er)?\s*abend|christmas\s+eve)"
       r"|(?P<neu>neujahr(?:s?tag)?|new\s+year'?s(?:\s+day)?))(?![\w'])"
       rf"(?:\s+(?P<y>{_YEAR4})(?!\d))?",
       needs=("silvester", "heilig", "neujahr", "new year", "christmas"))
def _r_holiday(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    """ "Silvester", "Heiligabend", "Neujahr", "New Year's Eve", ...: the next such day
    ("happy new year" is a greeting, not a day)."""
    name = "silvester" if m.group("sil") else "heiligabend" if m.group("hei") else "neujahr"
    day, month = _HOLIDAYS[name]
    return _day_atom(m, ctx, day, month, _year(m.group("y")))


@_rule(r"\b(?:zwischen\s+(?:weihnachten|den\s+feiertagen)\s+und\s+(?:neujahr|silvester)"
       r"|zwischen\s+den\s+jahren"
       r"|between\s+christmas\s+and\s+new\s+year'?s?(?:\s+(?:day|eve))?)\b",
       needs=("zwischen", "between"))
def _r_between_the_years(m: re.Match[str], ctx: _Ctx) -> _Atom:
    """ "zwischen Weihnachten und Neujahr", "zwischen den Jahren": 27 to 31 December."""
    year = ctx.today.year
    return _atom(m, "day", _Days(date(year, 12, 27), date(year, 12, 31)))


@_rule(r"(?<![\w.])(?P<d>\d{1,2})(?:\.|st\b|nd\b|rd\b|th\b)(?!\s?\d)", needs=_DIGITS)
def _r_day_number(m: re.Match[str], ctx: _Ctx) -> _Atom:
    return _atom(m, "daynum", value=(int(m.group("d")),))


@_rule(r"\b(?:heute\s+)?in\s+(?P<n>\d{1,2}|einer|einem|eine|a|an|one)\s+(?P<u>tag(?:en)?"
       r"|wochen?|monat(?:en)?|jahr(?:en)?|days?|weeks?|months?|years?|stunden?|minuten?"
       r"|hours?|minutes?)\b"
       r"|\b(?P<n2>\d{1,2}|a|one)\s+(?P<u2>days?|weeks?|months?)\s+from\s+(?:now|today)\b",
       needs=("in", "from"))
def _r_relative(m: re.Match[str], ctx: _Ctx) -> _Atom:
    word = m.group("n") or m.group("n2")
    n = int(word) if word.isdigit() else 1
    unit = (m.group("u") or m.group("u2"))[:3]
    if unit in ("stu", "hou", "min"):
        moment = _later(ctx.now.replace(second=0),
                        timedelta(hours=n) if unit in ("stu", "hou") else timedelta(minutes=n))
        return _atom(m, "span", _Span(moment, moment))
    if unit in ("tag", "day"):
        day = ctx.today + timedelta(days=n)
    elif unit in ("woc", "wee"):
        day = ctx.today + timedelta(weeks=n)
        return _atom(m, "day", _Days(day, day, week=True))
    elif unit == "mon":
        day = _add_months(ctx.today, n)
    else:
        day = _add_months(ctx.today, 12 * n)
    return _atom(m, "day", _Days(day, day))


@_rule(r"\b(?:so\s+(?:bald|schnell|frueh|zeitnah)\s+(?:wie|als)\s+moeglich|sobald\s+(?:wie|als)"
       r"\s+moeglich|moeglichst\s+(?:bald|schnell|frueh|zeitnah)|schnellst(?:\s+|-)?moeglich\w*"
       r"|baldmoeglichst|baldigst|naechstmoeglich\w*|fruehestmoeglich\w*|zeitnah|sofort"
       r"|umgehend|(?:der|den|dem|einen?)?\s*naechste[nrs]?\s+freie[nrs]?\s+termin\w*"
       r"|egal\s+wann|wann\s+immer|jederzeit|asap|a\.s\.a\.p\.?|as\s+soon\s+as\s+possible"
       r"|as\s+early\s+as\s+possible|earliest\s+(?:possible|available)|soonest|first\s+available"
       r"|next\s+available|any\s*time|whenever"
       r"|earliest\s+(?:free\s+)?(?:slot|appointment|date|time|one)"
       r"|(?:the\s+)?next\s+(?:free|open)\s+(?:slot|appointment)"
       r"|(?:den|der|einen?)?\s*fruehest(?:e[nrs]?|moeglich\w*)?\s+(?:freie[nrs]?\s+)?termin\w*)(?!\w)",
       needs=("moeglich", "bald", "sofort", "umgehend", "zeitnah", "egal", "wann", "jederzeit",
              "asap", "a.s.a.p", "possible", "soonest", "available", "time", "whenever", "freie",
              "earliest", "next", "fruehest"))
def _r_asap(m: re.Match[str], ctx: _Ctx) -> _Atom:
    return _atom(m, "span", _Span(ctx.now, ctx.now + timedelta(days=ASAP_DAYS)))


@_rule(rf"\b(?:(?P<pre>am|in\s+der|zur|ueber|gegen|in\s+the|around|at)\s+)?"
       rf"(?P<dp>{_alt(_DAYPART_WORDS)}|morgen)\b",
       needs=("frueh", "morgen", "mittag", "abend", "morning", "noon", "lunch", "afternoon", "arvo",
              "evening"))
def _r_daypart(m: re.Match[str], ctx: _Ctx) -> _Atom | None:
    word = _squash(m.group("dp"))
    if word == "morgen":
        if m.group("pre") != "am":
            return None  # "morgen" alone is tomorrow
        word = "ammorgen"
    return _atom(m, "daypart", _Daypart(_DAYPART_LOOKUP[word]))


# --- context: prefixes, ranges --------------------------------------------------------------

_EXACT_BEFORE = re.compile(
    r"\b(?:so\s+)?(?:um|gegen|at|around|about|approx(?:imately|\.)?|ca\.?|circa|etwa"
    r"|ungefaehr)(?:\s+(?:ca\.?|circa|etwa|ungefaehr|about|around|um|at))?\s*$")
_FROM_BEFORE = re.compile(
    r"\b(?:ab|nach|after|from|starting(?:\s+(?:at|from))?|fruehestens|erst\s+(?:ab|nach)"
    r"|nicht\s+vor|not\s+before|no\s+earlier\s+than|later\s+than|(?:irgendwann|sometime)"
    r"\s+(?:nach|after))(?:\s+(?:um|am|at|on|dem|den|der|the))?\s*$")
_UNTIL_BEFORE = re.compile(
    r"\b(?P<w>bis(?:\s+spaetestens)?|spaetestens|until|till|til|by|before|vor|nicht\s+nach"
    r"|not\s+after|no\s+later\s+than)(?:\s+(?:um|am|zum|zur|at|on|dem|den|der|the))?\s*$")
_RANGE_OPEN = re.compile(r"\b(?:zwischen|von|vom|from|between|ab)(?:\s+(?:dem|den|the))?\s*$")
_RANGE_JOIN = re.compile(
    r"\s*(?:(?P<and>und|and)|(?P<word>bis|to|until|till|through|thru)|-)(?:\s+(?:zum|zur|dem|den|the"
    r"|um|at))?\s*")
_ADJACENT = re.compile(r"[\s,]*")
_AFTER_WEEKDAY = re.compile(r"[\s,]*(?:den|dem|the)\s*")
_DAYNUM_BEFORE_STRONG = re.compile(r"\b(?:am|on|on\s+the)\s*$")
_DAYNUM_BEFORE = re.compile(
    r"\b(?:den|dem|zum|vom|ab\s+dem|bis\s+zum|(?:from|until|till|by)(?:\s+the)?)\s*$")
# After "vom" / "zum" / "ab" / "bis": "3." is a date at the end or before a filler word ...
_DAYNUM_AFTER = re.compile(
    r"\s*(?:$|[,;!?)]|\.(?:\s|$)|(?:oder|or|und|and|bitte|please|moeglich|passt|geht|wenn)\b)")
# ... after "den" / "dem" only before a time: "Ich nehme den ersten" picks an option.
_DAYNUM_AFTER_TIME = re.compile(
    r"\s*(?:um|at|ab|bis|gegen|zwischen|von|vormittags?|nachmittags?|mittags?|abends?|morgens"
    r"|frueh|(?:des|dieses|naechsten)\s+monats|of\s+(?:the|this|next)\s+month|in\s+the|\d)\b")


@dataclass
class _Item:
    start: int
    end: int
    parts: tuple[_Part, ...]


@dataclass
class _Parsed:
    text: _Text
    items: list[_Item]

    def original(self, start: int, end: int) -> str:
        return self.text.original(start, end)


def _parse(source: str, now: datetime, lang: str | None) -> _Parsed:
    """The time expressions of `source` as items, left to right."""
    text = _Text(source)
    ctx = _Ctx(text, now, lang if lang in ("de", "en") else None)
    atoms = _atoms(ctx)
    items = _interpret(atoms, ctx)
    if not any(isinstance(p, _Days | _Weekday) for item in items for p in item.parts):
        items = sorted(items + _dateparser_items(ctx, atoms), key=lambda i: i.start)
    return _Parsed(text, items)


def _atoms(ctx: _Ctx) -> list[_Atom]:
    """Every rule's matches; where they overlap the leftmost, then longest, then first rule wins."""
    found: list[_Atom] = []
    norm = ctx.text.norm
    for priority, (pattern, handler, needs) in enumerate(_RULES):
        if needs and not any(n in norm for n in needs):
            continue
        for m in pattern.finditer(norm):
            atom = handler(m, ctx)
            if atom:
                atom.priority = priority
                found.append(atom)
    found.sort(key=lambda a: (a.start, a.start - a.end, a.priority))
    chosen: list[_Atom] = []
    for atom in found:
        if not chosen or atom.start >= chosen[-1].end:
            chosen.append(atom)
    return chosen


def _interpret(atoms: list[_Atom], ctx: _Ctx) -> list[_Item]:
    """Atoms read in context: ranges of two atoms, prefixes, bare numbers dropped."""
    norm = ctx.text.norm
    items: list[_Item] = []
    prev_end = 0
    i = 0
    while i < len(atoms):
        a = atoms[i]
        before = norm[prev_end:a.start]
        adjacent_day = bool(items) and _ADJACENT.fullmatch(before) is not None and any(
            isinstance(p, _Days | _Weekday | _Daypart) for p in items[-1].parts)
        after_weekday = bool(items) and _AFTER_WEEKDAY.fullmatch(before) is not None and any(
            isinstance(p, _Weekday) for p in items[-1].parts)
        if i + 1 < len(atoms):
            item = _range(a, atoms[i + 1], before, prev_end, adjacent_day, ctx)
            if item:
                items.append(item)
                prev_end = item.end
                i += 2
                continue
        item = _single(a, before, prev_end, adjacent_day, after_weekday, ctx)
        if item:
            items.append(item)
        prev_end = a.end
        i += 1
    return items


def _num_hm(atom: _Atom) -> _HM | None:
    """A bare number or "10.30" read as a time; the caller has decided that it is one."""
    if atom.kind == "num":
        return _hm(atom.value[0]) if atom.value[0] <= 23 else None
    if atom.kind in ("dm", "daynum"):
        return _hm(*atom.value) if atom.value[0] <= 23 else None
    clock = atom.parts[0]
    assert isinstance(clock, _Clock)
    return clock.lo if clock.exact else None


def _dm_date(atom: _Atom, ctx: _Ctx) -> _Days | None:
    d = _next_date(atom.value[0], atom.value[1], None, ctx.today)
    return _Days(d, d) if d else None


def _as_days(atom: _Atom, ctx: _Ctx) -> _Days | _Weekday | None:
    """A day-like atom as one day, range of days or weekday (for "Montag bis Mittwoch")."""
    if len(atom.parts) == 1 and isinstance(atom.parts[0], _Days | _Weekday):
        return atom.parts[0]
    if atom.kind == "dm":
        return _dm_date(atom, ctx)
    if atom.kind == "daynum":
        d = _next_day_of_month(atom.value[0], ctx.today)
        return _Days(d, d) if d else None
    return None


@_on_calendar
def _range(a: _Atom, b: _Atom, before: str, prev_end: int, adjacent_day: bool,
           ctx: _Ctx) -> _Item | None:
    """Two atoms joined by "bis", "-", "to" (or "und"/"and" after "zwischen"/"between")."""
    join = _RANGE_JOIN.fullmatch(ctx.text.norm, a.end, b.start)
    if not join:
        return None
    opener = _RANGE_OPEN.search(before)
    if join.group("and") and not opener:
        return None
    start = prev_end + opener.start() if opener else a.start
    # "zwischen 9 und 11.": the full stop ends the sentence, the 11 is an hour like the 9
    if (b.kind == "daynum" and a.kind in ("clock", "num", "dm")
            and ctx.text.norm[b.start:b.end].endswith(".")):
        b = replace(b, kind="num")
    # times: "zwischen 9 und 11", "von 14 bis 16 Uhr", "14-16 Uhr", "2-4pm", "10:00-12:00"
    if {a.kind, b.kind} <= {"clock", "num", "dm"}:
        clocks = "clock" in (a.kind, b.kind)
        dm_clock = all(x.kind != "dm" or clocks or x.value[1] > 12 for x in (a, b))
        # two bare numbers need a word: "9 bis 11", "10 to 12", but not "9-11"
        if dm_clock and (clocks or opener or adjacent_day or join.group("word")):
            lo, hi = _num_hm(a), _num_hm(b)
            if lo and hi:
                if hi.meridiem and not lo.meridiem and lo.hour <= hi.hour:
                    lo = replace(lo, meridiem=hi.meridiem)
                return _Item(start, b.end, (_Clock(lo, hi),))
    # days: "vom 3. bis 5. Dezember", "Montag bis Mittwoch", "3.12.-5.12.", "Mo-Fr"
    head, tail = _as_days(a, ctx), _as_days(b, ctx)
    if head is None or tail is None or (a.kind == "daynum" and not opener):
        return None
    if isinstance(head, _Weekday):
        first = head.alone(ctx.today)
    elif a.kind == "daynum" and isinstance(tail, _Days):
        month = tail.last.replace(day=1)
        if a.value[0] > tail.last.day:
            month = _add_months(month, -1)
        first = _date_or_none(month.year, month.month, a.value[0])
    else:
        first = head.first
    if first is None:
        return None
    if isinstance(tail, _Weekday):
        last = first + timedelta(days=(tail.weekday - first.weekday()) % 7)
    else:
        last = tail.last
    if first > last:
        return None
    return _Item(start, b.end, (_Days(first, last),))


@_on_calendar
def _single(a: _Atom, before: str, prev_end: int, adjacent_day: bool, after_weekday: bool,
            ctx: _Ctx) -> _Item | None:
    """One atom with what stands right before it ("um", "ab", "bis", "am", ...).

    `adjacent_day`: a day or day part stands right before ("Dienstag 10" is 10:00);
    `after_weekday`: "Dienstag, den" stands before ("Dienstag, den 24." is a date)."""
    exact = _EXACT_BEFORE.search(before)
    from_ = _FROM_BEFORE.search(before)
    until = _UNTIL_BEFORE.search(before)
    prefix = exact or from_ or until
    start = prev_end + prefix.start() if prefix else a.start
    own_start = a.start  # where a plain day or day part begins ("am 3." with its "am")
    kind, parts = a.kind, a.parts
    if kind == "dm":  # "3.12" is a date, "um 10.30" / "ab 14.30" / "Dienstag 10.30" a time
        as_time = exact or (a.value[1] > 12 and (prefix or adjacent_day))
        if not as_time:
            days = _dm_date(a, ctx)
            if days is None:
                return None
            kind, parts = "day", (days,)
    elif kind == "num" and not (prefix or adjacent_day):
        return None  # a bare number is an option, an amount or a house number
    elif kind == "daynum":  # "am 3.", "on the 3rd"; but "um 10." ends a sentence
        strong = _DAYNUM_BEFORE_STRONG.search(before)
        weak = _DAYNUM_BEFORE.search(before)
        follows_time = _DAYNUM_AFTER_TIME.match(ctx.text.norm, a.end) is not None
        follows_end = _DAYNUM_AFTER.match(ctx.text.norm, a.end) is not None
        dated = after_weekday or (weak is not None and (
            follows_time or (follows_end and weak.group(0).strip() not in ("den", "dem"))))
        if strong and not _capitalised_noun_after(ctx.text, a.end):
            own_start = prev_end + strong.start()
        elif dated:
            own_start = prev_end + weak.start() if weak else a.start
        elif (prefix or (adjacent_day and follows_end)) and ctx.text.norm[
                a.start:a.end].endswith("."):
            kind = "num"  # "ab 10." / "Freitag 9.": the full stop ends the sentence
        else:
            return None
        if kind == "daynum":
            d = _next_day_of_month(a.value[0], ctx.today)
            if d is None:
                return None
            kind, parts = "day", (_Days(d, d),)
    if kind in ("clock", "num", "dm"):
        hm = _num_hm(a)
        if hm is None:
            return None
        clock = _Clock(hm, None) if from_ else _Clock(None, hm) if until else _Clock(hm, hm)
        return _Item(start, a.end, (clock,))
    if (from_ or until) and len(parts) == 1 and isinstance(parts[0], _Days | _Weekday):
        head = parts[0]
        if isinstance(head, _Weekday):
            first = last = head.alone(ctx.today)
        else:
            first, last = head.first, head.last
        if from_:  # "ab Montag": two weeks from then; "nach dem 3.12.": from the day after
            if from_.group(0).lstrip().startswith(("nach", "after")):
                first = last + timedelta(days=1)
            return _Item(start, a.end, (_Days(first, first + timedelta(days=ASAP_DAYS - 1)),))
        assert until is not None
        if until.group("w") in ("before", "vor"):
            last = first - timedelta(days=1)
        if last >= ctx.today:  # "bis Freitag": from today on
            return _Item(start, a.end, (_Days(ctx.today, last),))
    return _Item(own_start, a.end, parts)


_NEXT_WORD = re.compile(r"\s+([a-z]+)")


def _capitalised_noun_after(text: _Text, end: int) -> bool:
    """ "am 3. Termin": the next word is a German noun (capitalised in the input)."""
    m = _NEXT_WORD.match(text.norm, end)
    if not m or m.group(1) in _MONTHS or m.group(1) in _DAYPART_WORDS or m.group(1) in (
            "um", "ab", "bis", "gegen", "oder", "und"):
        return False
    return text.original(m.start(1), m.start(1) + 1).isupper()


# --- grouping for extract -------------------------------------------------------------------

_CONNECT = re.compile(
    r"(?:[\s,.]|\b(?:um|am|gegen|at|on|in|the|den|dem|der|so|ca|circa|etwa|ungefaehr|around"
    r"|about|zur|zum|gern|gerne|lieber|am\s+(?:besten|liebsten)|vorzugsweise|idealerweise|eher"
    r"|wenn\s+moeglich|bitte|please|preferably|ideally|if\s+possible)\b)*")


# One expression holds at most one part of each kind: "Dienstag nächste Woche um 10".
_CATEGORY: dict[type, str] = {_Days: "days", _Weekday: "weekday", _Daypart: "daypart",
                              _Clock: "clock", _Span: "span"}


def _groups(parsed: _Parsed) -> Iterator[list[_Item]]:
    """Neighbouring items that make one expression; a span ("asap") stands alone."""
    group: list[_Item] = []
    seen: set[str] = set()
    for item in parsed.items:
        cats = {_CATEGORY[type(p)] for p in item.parts}
        joinable = group and not (cats & seen) and "span" not in cats | seen and (
            _CONNECT.fullmatch(parsed.text.norm, group[-1].end, item.start))
        if group and not joinable:
            yield group
            group, seen = [], set()
        group.append(item)
        seen |= cats
    if group:
        yield group


# --- dateparser for odd full dates ----------------------------------------------------------

_ODD_DATE = re.compile(
    r"(?<![\w.,/-])(?:\d{1,4}|[a-z]{3,9}\.?)[-/.](?:\d{1,2}|[a-z]{3,9})\.?[-/.]\d{2,4}(?![\w.-])")


@cache
def _dateparser() -> Callable[..., datetime | None]:
    import dateparser

    return dateparser.parse


def _dateparser_items(ctx: _Ctx, atoms: Sequence[_Atom]) -> list[_Item]:
    """Full dates in forms the rules do not know ("3-Dec-2026", "2026.12.03")."""
    items = []
    for m in _ODD_DATE.finditer(ctx.text.norm):
        if not any(c.isdigit() for c in m.group(0)) or any(
                a.start < m.end() and m.start() < a.end for a in atoms if a.kind != "num"):
            continue
        parsed = _dateparser()(m.group(0), languages=[ctx.lang] if ctx.lang else ["de", "en"],
                               settings={"PREFER_DATES_FROM": "future", "STRICT_PARSING": True,
                                         "DATE_ORDER": "MDY" if ctx.lang == "en" else "DMY",
                                         "RELATIVE_BASE": ctx.now.replace(tzinfo=None)})
        if parsed:
            items.append(_Item(m.start(), m.end(), (_Days(parsed.date(), parsed.date()),)))
    return items
