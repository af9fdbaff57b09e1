"""Time expressions as citizens write them, resolved to the intervals the booking API gets.

The fixed "now" is Monday 23 November 2026, 10:00 in Meißen; a few cases use a Saturday
afternoon, Tuesday 1 December (the day issue 13's wrong times were reported) and the days after
Christmas (year rollover).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.nlu.language import detect_language
from assistant.nlu.spoken import normalize_spoken
from assistant.nlu.timeparse import TimeRange, extract, resolve

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)  # Monday
SATURDAY = datetime(2026, 11, 28, 14, 0, tzinfo=BERLIN)
AFTER_CHRISTMAS = datetime(2026, 12, 28, 16, 30, tzinfo=BERLIN)  # Monday, week 53
DECEMBER_1 = datetime(2026, 12, 1, 9, 0, tzinfo=BERLIN)  # Tuesday: the day of issue 13's report


def day(d: str) -> tuple[str, str]:
    """A whole day: 00:00:00 to 23:59:59."""
    return f"{d} 00:00:00", f"{d} 23:59:59"


def days(first: str, last: str) -> tuple[str, str]:
    return f"{first} 00:00:00", f"{last} 23:59:59"


def at(moment: str) -> tuple[str, str]:
    """An exact time: start == end."""
    return f"{moment}:00", f"{moment}:00"


def span(start: str, end: str) -> tuple[str, str]:
    return (start if start.count(":") == 2 else f"{start}:00",
            end if end.count(":") == 2 else f"{end}:00")


ASAP = span("2026-11-23 10:00", "2026-12-07 10:00")

GERMAN = [
    # days
    ("heute", day("2026-11-23")),
    ("morgen", day("2026-11-24")),
    ("übermorgen", day("2026-11-25")),
    ("uebermorgen", day("2026-11-25")),
    ("perso riesa morgen", day("2026-11-24")),
    ("Morgen!", day("2026-11-24")),
    ("Dienstag", day("2026-11-24")),
    ("am Montag", day("2026-11-30")),  # today is Monday: a bare "Montag" is next week's
    ("Mo", day("2026-11-30")),
    ("Sonnabend", day("2026-11-28")),
    ("am Sonntag", day("2026-11-29")),
    ("montags", day("2026-11-30")),
    ("diesen Montag", day("2026-11-23")),
    ("diesen Freitag", day("2026-11-27")),
    ("kommenden Freitag", day("2026-11-27")),
    ("nächsten Dienstag", day("2026-12-01")),
    ("naechsten Dienstag", day("2026-12-01")),
    ("am nächsten Freitag", day("2026-12-04")),
    ("Dienstag nächste Woche", day("2026-12-01")),
    ("nächste Woche Dienstag", day("2026-12-01")),
    ("in der nächsten Woche am Mittwoch", day("2026-12-02")),
    ("diese Woche Freitag", day("2026-11-27")),
    ("übernächsten Dienstag", day("2026-12-08")),
    ("Dienstag in zwei Wochen", day("2026-12-08")),
    ("Do 3.12.", day("2026-12-03")),
    ("Donnerstag, 3.12.", day("2026-12-03")),
    ("Montag, 3.12.", day("2026-12-03")),  # the date wins over a weekday that does not fit
    # dates
    ("am 3.12.", day("2026-12-03")),
    ("am 3.12", day("2026-12-03")),
    ("3.12.2026", day("2026-12-03")),
    ("03.12.26", day("2026-12-03")),
    ("3. Dezember", day("2026-12-03")),
    ("3 Dez", day("2026-12-03")),
    ("am dritten Dezember", day("2026-12-03")),
    ("am 1.3.", day("2027-03-01")),
    ("20.11.", day("2027-11-20")),  # already past this year
    ("23.11.", day("2026-11-23")),  # today
    ("2026-12-03", day("2026-12-03")),
    ("12/3", day("2027-03-12")),  # German reads day/month
    ("3. Dezember 2027", day("2027-12-03")),
    ("am 3.", day("2026-12-03")),
    ("am 30.", day("2026-11-30")),
    ("am 20.", day("2026-12-20")),
    ("geht am 23. noch was?", day("2026-11-23")),
    ("den 3. um 10", at("2026-12-03 10:00")),
    ("Donnerstag, den 3.", day("2026-12-03")),
    ("bis zum 3.", days("2026-11-23", "2026-12-03")),
    ("ab dem 3.", days("2026-12-03", "2026-12-16")),
    ("Ich kann erst ab 10.", span("2026-11-23 10:00", "2026-11-23 23:59:59")),
    ("vom 3. bis 5. Dezember", days("2026-12-03", "2026-12-05")),
    ("vom 3.12. bis 5.12.", days("2026-12-03", "2026-12-05")),
    ("zwischen dem 3.12. und dem 10.12.", days("2026-12-03", "2026-12-10")),
    ("Montag bis Mittwoch", days("2026-11-30", "2026-12-02")),
    ("Mo-Fr", days("2026-11-30", "2026-12-04")),
    # relative
    ("in zwei Wochen", day("2026-12-07")),
    ("in 2 Wochen", day("2026-12-07")),
    ("in drei Tagen", day("2026-11-26")),
    ("in 14 Tagen", day("2026-12-07")),
    ("in einer Woche", day("2026-11-30")),
    ("in einem Monat", day("2026-12-23")),
    ("in 2 Stunden", at("2026-11-23 12:00")),
    # weeks, weekends, months
    ("diese Woche", days("2026-11-23", "2026-11-29")),
    ("nächste Woche", days("2026-11-30", "2026-12-06")),
    ("naechste Woche", days("2026-11-30", "2026-12-06")),
    ("kommende Woche", days("2026-11-30", "2026-12-06")),
    ("in der nächsten Woche", days("2026-11-30", "2026-12-06")),
    ("übernächste Woche", days("2026-12-07", "2026-12-13")),
    ("Ende der Woche", days("2026-11-26", "2026-11-27")),
    ("Anfang nächster Woche", days("2026-11-30", "2026-12-01")),
    ("Mitte nächster Woche", days("2026-12-01", "2026-12-03")),
    ("Ende nächster Woche", days("2026-12-03", "2026-12-04")),
    ("am Wochenende", days("2026-11-28", "2026-11-29")),
    ("nächstes Wochenende", days("2026-12-05", "2026-12-06")),
    ("KW 50", days("2026-12-07", "2026-12-13")),
    ("Anfang Dezember", days("2026-12-01", "2026-12-07")),
    ("Mitte Dezember", days("2026-12-11", "2026-12-20")),
    ("Ende Dezember", days("2026-12-22", "2026-12-31")),
    ("im Dezember", days("2026-12-01", "2026-12-31")),
    ("Dezember", days("2026-12-01", "2026-12-31")),
    ("Anfang März", days("2027-03-01", "2027-03-07")),
    ("Anfang Maerz", days("2027-03-01", "2027-03-07")),
    ("Ende Februar", days("2027-02-22", "2027-02-28")),
    ("im November", days("2026-11-01", "2026-11-30")),
    ("Ende des Monats", days("2026-11-22", "2026-11-30")),
    ("nächsten Monat", days("2026-12-01", "2026-12-31")),
    ("Dezember 2027", days("2027-12-01", "2027-12-31")),
    ("im Mai", days("2027-05-01", "2027-05-31")),
    ("so bald wie möglich", ASAP),
    ("so schnell wie möglich", ASAP),
    ("sobald wie moeglich", ASAP),
    ("schnellstmöglich", ASAP),
    ("nächstmöglicher Termin", ASAP),
    ("egal wann", ASAP),
    ("der nächste freie Termin", ASAP),
    ("ab Montag", days("2026-11-30", "2026-12-13")),
    ("ab dem 3.12.", days("2026-12-03", "2026-12-16")),
    ("bis Freitag", days("2026-11-23", "2026-11-27")),
    ("bis zum 3.12.", days("2026-11-23", "2026-12-03")),
    ("vor Freitag", days("2026-11-23", "2026-11-26")),
    # exact times: no day given means today, or tomorrow once the time is over
    ("14:30", at("2026-11-23 14:30")),
    ("um 14:30 Uhr", at("2026-11-23 14:30")),
    ("um 10 Uhr", at("2026-11-23 10:00")),
    ("gegen 10", at("2026-11-23 10:00")),
    ("so gegen 10", at("2026-11-23 10:00")),
    ("um 9", at("2026-11-24 09:00")),
    ("um 3", at("2026-11-23 15:00")),  # offices: an hour 1-6 is the afternoon
    ("um 7", at("2026-11-24 07:00")),
    ("um eins", at("2026-11-23 13:00")),
    ("halb zehn", at("2026-11-24 09:30")),
    ("halb drei", at("2026-11-23 14:30")),
    ("halb 3", at("2026-11-23 14:30")),
    ("halb eins", at("2026-11-23 12:30")),
    ("viertel nach drei", at("2026-11-23 15:15")),
    ("viertel vor drei", at("2026-11-23 14:45")),
    ("dreiviertel zehn", at("2026-11-24 09:45")),  # Saxon
    ("drei viertel zehn", at("2026-11-24 09:45")),
    ("viertel zehn", at("2026-11-24 09:15")),  # Saxon
    ("viertel elf", at("2026-11-23 10:15")),
    ("10 vor 12", at("2026-11-23 11:50")),
    ("fünf nach halb drei", at("2026-11-23 14:35")),
    ("zehn uhr dreißig", at("2026-11-23 10:30")),
    ("vierzehn uhr fünfzehn", at("2026-11-23 14:15")),
    ("14 Uhr 30", at("2026-11-23 14:30")),
    ("14.30 Uhr", at("2026-11-23 14:30")),
    ("um 14.30", at("2026-11-23 14:30")),
    ("14h30", at("2026-11-23 14:30")),
    ("um 3 nachmittags", at("2026-11-23 15:00")),
    ("halb drei nachmittags", at("2026-11-23 14:30")),
    ("um 9 abends", at("2026-11-23 21:00")),
    ("12 Uhr mittags", at("2026-11-23 12:00")),
    ("um 1 mittags", at("2026-11-23 13:00")),
    ("3 Uhr früh", at("2026-11-24 03:00")),
    ("03:00", at("2026-11-24 03:00")),
    # day parts
    ("vormittags", span("2026-11-23 08:00", "2026-11-23 12:00")),
    ("morgens", span("2026-11-23 08:00", "2026-11-23 12:00")),
    ("am Morgen", span("2026-11-23 08:00", "2026-11-23 12:00")),
    ("früh", span("2026-11-23 06:00", "2026-11-23 10:00")),  # ends just now: still today
    ("mittags", span("2026-11-23 12:00", "2026-11-23 14:00")),
    ("gegen Mittag", span("2026-11-23 12:00", "2026-11-23 14:00")),
    ("nachmittags", span("2026-11-23 12:00", "2026-11-23 18:00")),
    ("abends", span("2026-11-23 18:00", "2026-11-23 22:00")),
    ("heute Abend", span("2026-11-23 18:00", "2026-11-23 22:00")),
    ("heute morgen", span("2026-11-23 08:00", "2026-11-23 12:00")),
    # ranges
    ("zwischen 9 und 11", span("2026-11-23 09:00", "2026-11-23 11:00")),
    ("von 14 bis 16 Uhr", span("2026-11-23 14:00", "2026-11-23 16:00")),
    ("14-16 Uhr", span("2026-11-23 14:00", "2026-11-23 16:00")),
    ("9 bis 11", span("2026-11-23 09:00", "2026-11-23 11:00")),
    ("zwischen 11 und 1", span("2026-11-23 11:00", "2026-11-23 13:00")),
    ("zwischen 2 und 4 nachmittags", span("2026-11-23 14:00", "2026-11-23 16:00")),
    ("ab 15 Uhr", span("2026-11-23 15:00", "2026-11-23 23:59:59")),
    ("nach 14 Uhr", span("2026-11-23 14:00", "2026-11-23 23:59:59")),
    ("frühestens um 11", span("2026-11-23 11:00", "2026-11-23 23:59:59")),
    ("bis 10 Uhr", span("2026-11-23 00:00", "2026-11-23 10:00")),
    ("vor 12", span("2026-11-23 00:00", "2026-11-23 12:00")),
    ("spätestens um 12", span("2026-11-23 00:00", "2026-11-23 12:00")),
    ("nach 14 Uhr aber vor 16 Uhr", span("2026-11-23 14:00", "2026-11-23 16:00")),
    ("vormittags ab 10", span("2026-11-23 10:00", "2026-11-23 12:00")),
    # combinations
    ("morgen vormittag", span("2026-11-24 08:00", "2026-11-24 12:00")),
    ("morgen früh", span("2026-11-24 06:00", "2026-11-24 10:00")),
    ("morgen Mittag", span("2026-11-24 12:00", "2026-11-24 14:00")),
    ("morgen nachmittag", span("2026-11-24 12:00", "2026-11-24 18:00")),
    ("morgen ab 15 Uhr", span("2026-11-24 15:00", "2026-11-24 23:59:59")),
    ("Dienstag um 10", at("2026-11-24 10:00")),
    ("Dienstag 10 Uhr", at("2026-11-24 10:00")),
    ("Freitag 9", at("2026-11-27 09:00")),  # a number right after a day is its hour
    ("Dienstag 10.30", at("2026-11-24 10:30")),
    ("Dienstag um halb zehn", at("2026-11-24 09:30")),
    ("Mi 14 Uhr", at("2026-11-25 14:00")),
    ("Fr. 10 Uhr", at("2026-11-27 10:00")),
    ("nächsten Donnerstag nachmittags", span("2026-12-03 12:00", "2026-12-03 18:00")),
    ("Freitag früh", span("2026-11-27 06:00", "2026-11-27 10:00")),
    ("Sonnabend vormittag", span("2026-11-28 08:00", "2026-11-28 12:00")),
    ("Montagmorgen", span("2026-11-30 08:00", "2026-11-30 12:00")),
    ("Montag morgen um 9", at("2026-11-30 09:00")),
    ("dienstagnachmittag", span("2026-11-24 12:00", "2026-11-24 18:00")),
    ("Dienstag zwischen 9 und 11", span("2026-11-24 09:00", "2026-11-24 11:00")),
    ("am 3.12. um 14 Uhr", at("2026-12-03 14:00")),
    ("am 3. um 10", at("2026-12-03 10:00")),
    ("Donnerstag den 3. Dezember um 9", at("2026-12-03 09:00")),
    ("nächste Woche vormittags", span("2026-11-30 08:00", "2026-12-06 12:00")),
    ("Montag oder Dienstag", days("2026-11-24", "2026-11-30")),
    ("Dienstag im Dezember", day("2026-12-01")),
    ("Dienstag im November", day("2026-11-24")),
    ("Freitag, 4.12., 9:30", at("2026-12-04 09:30")),
    ("01.12.2026 09:30", at("2026-12-01 09:30")),
    ("Ich hätte gern einen Termin morgen, am liebsten vormittags",
     span("2026-11-24 08:00", "2026-11-24 12:00")),
    ("Guten Morgen, geht es morgen um 10?", at("2026-11-24 10:00")),
    ("Hallo, ich brauche einen Termin für meinen Perso, am besten Dienstag um halb zehn in Riesa",
     at("2026-11-24 09:30")),
    ("naechsten dienstag so gegen halb elf", at("2026-12-01 10:30")),
    ("so bald wie möglich, gern nächste Woche", days("2026-11-30", "2026-12-06")),
    # exact times win over day parts; a full stop after the hour ends the sentence (issue 13)
    ("Freitag früh um halb acht", at("2026-11-27 07:30")),
    ("Freitag früh um halb acht.", at("2026-11-27 07:30")),
    ("Donnerstag um Viertel vor elf.", at("2026-11-26 10:45")),
    ("morgen Nachmittag um drei", at("2026-11-24 15:00")),
    ("morgen Nachmittag um drei.", at("2026-11-24 15:00")),
    ("Montag vormittag 10 Uhr", at("2026-11-30 10:00")),
    ("Montag vormittag um 10 Uhr.", at("2026-11-30 10:00")),
    ("Mittwoch um viertel zehn.", at("2026-11-25 09:15")),
    ("Dienstag um fünf nach halb drei.", at("2026-11-24 14:35")),
    ("morgen um zehn Uhr dreißig.", at("2026-11-24 10:30")),
    ("Freitag 9.", at("2026-11-27 09:00")),
    ("Dienstag zwischen 9 und 11.", span("2026-11-24 09:00", "2026-11-24 11:00")),
    ("9 bis 11.", span("2026-11-23 09:00", "2026-11-23 11:00")),
    ("vom 3. bis 5.", days("2026-12-03", "2026-12-05")),
    # open and closed windows
    ("nächste Woche Dienstag nach halb fünf", span("2026-12-01 16:30", "2026-12-01 23:59:59")),
    ("nicht vor 10", span("2026-11-23 10:00", "2026-11-23 23:59:59")),
    ("morgen nicht vor 10", span("2026-11-24 10:00", "2026-11-24 23:59:59")),
    ("ab halb neun", span("2026-11-23 08:30", "2026-11-23 23:59:59")),
    ("Donnerstag ab halb neun.", span("2026-11-26 08:30", "2026-11-26 23:59:59")),
    ("bis 11", span("2026-11-23 00:00", "2026-11-23 11:00")),
    ("zwischen 9 und 11.", span("2026-11-23 09:00", "2026-11-23 11:00")),
    ("Morgen, aber es geht nicht vor 10.", span("2026-11-24 10:00", "2026-11-24 23:59:59")),
    # a clause that turns a time down is left out
    ("Heute ist mir zu kurzfristig, geht nächste Woche Dienstag nach halb fünf?",
     span("2026-12-01 16:30", "2026-12-01 23:59:59")),
    ("Heute ist zu kurzfristig. Geht nächsten Dienstag nach halb fünf?",
     span("2026-12-01 16:30", "2026-12-01 23:59:59")),
    ("Morgen passt mir leider nicht, aber Donnerstag um 10.", at("2026-11-26 10:00")),
    ("Freitag kann ich nicht. Montag um 9?", at("2026-11-30 09:00")),
    ("Am 3. Dezember geht es nicht. Geht der 4. Dezember?", day("2026-12-04")),
    ("Vor 10 geht nicht, aber ab 11.", span("2026-11-23 11:00", "2026-11-23 23:59:59")),
    ("Heute habe ich keine Zeit, morgen um 10?", at("2026-11-24 10:00")),
    # days asked about for opening hours
    ("Silvester", day("2026-12-31")),
    ("Heiligabend", day("2026-12-24")),
    ("Neujahr", day("2027-01-01")),
    ("1. Januar", day("2027-01-01")),
    ("Hat Riesa am 1. Januar offen?", day("2027-01-01")),
    ("Silvester in Meißen?", day("2026-12-31")),
    ("Hat Riesa an Silvester offen?", day("2026-12-31")),
    ("Habt ihr Heiligabend vormittags auf?", span("2026-12-24 08:00", "2026-12-24 12:00")),
    ("am Heiligen Abend", day("2026-12-24")),
    ("am Neujahrstag", day("2027-01-01")),
    ("Neujahr 2028", day("2028-01-01")),
    ("samstags", day("2026-11-28")),
    ("Hat Riesa samstags offen?", day("2026-11-28")),
]

ENGLISH = [
    ("today", day("2026-11-23")),
    ("tomorrow", day("2026-11-24")),
    ("the day after tomorrow", day("2026-11-25")),
    ("on monday", day("2026-11-30")),
    ("on Friday", day("2026-11-27")),
    ("next tuesday", day("2026-12-01")),
    ("monday next week", day("2026-11-30")),
    ("this afternoon", span("2026-11-23 12:00", "2026-11-23 18:00")),
    ("tomorrow morning", span("2026-11-24 08:00", "2026-11-24 12:00")),
    ("tonight", span("2026-11-23 18:00", "2026-11-23 22:00")),
    ("in the evening", span("2026-11-23 18:00", "2026-11-23 22:00")),
    ("at 10am", at("2026-11-23 10:00")),
    ("10:30", at("2026-11-23 10:30")),
    ("10:30 pm", at("2026-11-23 22:30")),
    ("3pm", at("2026-11-23 15:00")),
    ("9 o'clock", at("2026-11-24 09:00")),
    ("at one", at("2026-11-23 13:00")),
    ("tomorrow at 10:30", at("2026-11-24 10:30")),
    ("half past nine", at("2026-11-24 09:30")),
    ("quarter to ten", at("2026-11-24 09:45")),
    ("a quarter past three", at("2026-11-23 15:15")),
    ("ten to twelve", at("2026-11-23 11:50")),
    ("noon", span("2026-11-23 12:00", "2026-11-23 14:00")),
    ("lunchtime", span("2026-11-23 12:00", "2026-11-23 14:00")),
    ("at noon", at("2026-11-23 12:00")),
    ("in two weeks", day("2026-12-07")),
    ("in 3 days", day("2026-11-26")),
    ("two weeks from now", day("2026-12-07")),
    ("beginning of december", days("2026-12-01", "2026-12-07")),
    ("mid-december", days("2026-12-11", "2026-12-20")),
    ("end of the month", days("2026-11-22", "2026-11-30")),
    ("end of next week", days("2026-12-03", "2026-12-04")),
    ("next week", days("2026-11-30", "2026-12-06")),
    ("the week after next", days("2026-12-07", "2026-12-13")),
    ("this weekend", days("2026-11-28", "2026-11-29")),
    ("next month", days("2026-12-01", "2026-12-31")),
    ("in march", days("2027-03-01", "2027-03-31")),
    ("December 3rd", day("2026-12-03")),
    ("3rd of December", day("2026-12-03")),
    ("the third of december", day("2026-12-03")),
    ("Dec 3, 2026", day("2026-12-03")),
    ("on the 5th", day("2026-12-05")),
    ("Could I get a slot on Wednesday the 2nd?", day("2026-12-02")),
    ("asap", ASAP),
    ("as soon as possible", ASAP),
    ("any time", ASAP),
    ("between 9 and 11am", span("2026-11-23 09:00", "2026-11-23 11:00")),
    ("from 2 to 4 pm", span("2026-11-23 14:00", "2026-11-23 16:00")),
    ("2-4pm", span("2026-11-23 14:00", "2026-11-23 16:00")),
    ("10 to 12", span("2026-11-23 10:00", "2026-11-23 12:00")),  # typed digits: a range
    ("after 3pm", span("2026-11-23 15:00", "2026-11-23 23:59:59")),
    ("before 10", span("2026-11-23 00:00", "2026-11-23 10:00")),
    ("until friday", days("2026-11-23", "2026-11-27")),
    ("next tuesday afternoon", span("2026-12-01 12:00", "2026-12-01 18:00")),
    ("Can I come on the 2nd of December at 3pm?", at("2026-12-02 15:00")),
    ("Is Friday at half past 2 ok?", at("2026-11-27 14:30")),
    ("something after 4 pm on thursday", span("2026-11-26 16:00", "2026-11-26 23:59:59")),
    ("any time next week", days("2026-11-30", "2026-12-06")),
    ("I need an appointment next week, preferably in the morning",
     span("2026-11-30 08:00", "2026-12-06 12:00")),
    ("tomorrow at half past nine", at("2026-11-24 09:30")),
    ("tomorrow at half past nine.", at("2026-11-24 09:30")),
    ("Thursday at quarter to eleven.", at("2026-11-26 10:45")),
    ("Friday at ten past two.", at("2026-11-27 14:10")),
    ("between 9 and 11.", span("2026-11-23 09:00", "2026-11-23 11:00")),
    ("10 to 12.", span("2026-11-23 10:00", "2026-11-23 12:00")),
    ("on December 3.", day("2026-12-03")),
    ("not before 10", span("2026-11-23 10:00", "2026-11-23 23:59:59")),
    ("Thursday, not before 10.", span("2026-11-26 10:00", "2026-11-26 23:59:59")),
    ("Today is too short notice. Is next Tuesday after 4:30 possible?",
     span("2026-12-01 16:30", "2026-12-01 23:59:59")),
    ("Today is too short notice, is next Tuesday after 4:30 possible?",
     span("2026-12-01 16:30", "2026-12-01 23:59:59")),
    ("Tomorrow doesn't work for me but Thursday at 10 would.", at("2026-11-26 10:00")),
    ("on Saturday", day("2026-11-28")),
    ("Is Riesa open on Saturdays?", day("2026-11-28")),
    ("Is the office open on New Year's Eve?", day("2026-12-31")),
    ("Are you open on New Year’s Day?", day("2027-01-01")),
    ("Christmas Eve morning", span("2026-12-24 08:00", "2026-12-24 12:00")),
]

ON_SATURDAY = [
    ("heute", day("2026-11-28")),
    ("Samstag", day("2026-12-05")),
    ("Montag", day("2026-11-30")),
    ("nächsten Montag", day("2026-11-30")),
    ("diese Woche", days("2026-11-23", "2026-11-29")),
    ("Wochenende", days("2026-11-28", "2026-11-29")),
    ("nächstes Wochenende", days("2026-12-05", "2026-12-06")),
    ("Ende der Woche", days("2026-12-03", "2026-12-04")),  # this week's is over
    ("vormittags", span("2026-11-29 08:00", "2026-11-29 12:00")),
    ("um 15 Uhr", at("2026-11-28 15:00")),
    ("um 10", at("2026-11-29 10:00")),
]

AFTER_XMAS = [
    ("morgen", day("2026-12-29")),
    ("am 3.1.", day("2027-01-03")),
    ("am ersten Januar", day("2027-01-01")),
    ("2.1.27", day("2027-01-02")),
    ("January 3rd", day("2027-01-03")),
    ("28.12.", day("2026-12-28")),
    ("15.12.", day("2027-12-15")),
    ("Anfang Januar", days("2027-01-01", "2027-01-07")),
    ("im Januar", days("2027-01-01", "2027-01-31")),
    ("Mitte Dezember", days("2027-12-11", "2027-12-20")),
    ("Ende Dezember", days("2026-12-22", "2026-12-31")),
    ("nächste Woche", days("2027-01-04", "2027-01-10")),
    ("nächsten Monat", days("2027-01-01", "2027-01-31")),
    ("in 2 Wochen", day("2027-01-11")),
    ("KW 1", days("2027-01-04", "2027-01-10")),
    ("um 10", at("2026-12-29 10:00")),
    ("nachmittags", span("2026-12-28 12:00", "2026-12-28 18:00")),
    ("Heiligabend", day("2027-12-24")),
    ("Silvester", day("2026-12-31")),
    ("Neujahr", day("2027-01-01")),
]

ON_DECEMBER_1 = [
    ("Freitag früh um halb acht", at("2026-12-04 07:30")),
    ("Freitag früh um halb acht.", at("2026-12-04 07:30")),
    ("Donnerstag um Viertel vor elf", at("2026-12-03 10:45")),
    ("Donnerstag um Viertel vor elf.", at("2026-12-03 10:45")),
    ("tomorrow at half past nine", at("2026-12-02 09:30")),
    ("tomorrow at half past nine.", at("2026-12-02 09:30")),
    ("nächste Woche Dienstag nach halb fünf", span("2026-12-08 16:30", "2026-12-08 23:59:59")),
    ("Today is too short notice. Is next Tuesday after 4:30 possible?",
     span("2026-12-08 16:30", "2026-12-08 23:59:59")),
    ("samstags", day("2026-12-05")),
    ("Silvester", day("2026-12-31")),
]

TABLE = ([(text, NOW, want) for text, want in GERMAN + ENGLISH]
         + [(text, SATURDAY, want) for text, want in ON_SATURDAY]
         + [(text, DECEMBER_1, want) for text, want in ON_DECEMBER_1]
         + [(text, AFTER_CHRISTMAS, want) for text, want in AFTER_XMAS])


def _berlin(moment: str) -> datetime:
    return datetime.fromisoformat(moment).replace(tzinfo=BERLIN)


@pytest.mark.parametrize(("text", "now", "want"), TABLE, ids=[f"{t}@{n:%a}" for t, n, _ in TABLE])
def test_resolve(text: str, now: datetime, want: tuple[str, str]) -> None:
    got = resolve(text, now)
    assert got is not None, f"no time found in {text!r}"
    assert (got.start, got.end) == (_berlin(want[0]), _berlin(want[1]))
    assert got.start.tzinfo == BERLIN and got.end.tzinfo == BERLIN


@pytest.mark.parametrize(("text", "now", "want"), TABLE, ids=[f"{t}@{n:%a}" for t, n, _ in TABLE])
def test_same_through_the_nlu_pipeline(text: str, now: datetime, want: tuple[str, str]) -> None:
    """The NLU detects the language and normalizes numbers before it resolves times."""
    lang = detect_language(text)
    got = resolve(normalize_spoken(text, lang), now, lang)
    assert got is not None
    assert (got.start, got.end) == (_berlin(want[0]), _berlin(want[1]))


def test_the_table_is_big_enough() -> None:
    assert len(TABLE) >= 150


NOT_TIMES = [
    "", "   ", "ok", "ja", "yes", "🙂",
    "Guten Morgen", "Good morning!", "Guten Abend, ich habe eine Frage", "Schönen Abend noch",
    "Have a nice weekend", "Morgen zusammen, ich habe eine Frage",
    "2", "Termin 2", "Option 3", "die 2 bitte", "Nummer 1", "ich nehme die 2.",
    "Mein Code ist K7Q-M4P", "k7q m4p", "K7QM4P", "absagen K7Q-M4P bitte",
    "Meine Nummer: 0351 123456", "+49 351 1234567", "0351/123456", "0172-1234567",
    "Hauptstraße 12", "Rathausplatz 1, 01589 Riesa", "Wartenummer 17",
    "ich habe 3 Kinder", "für 2 Personen", "Das kostet 37,00 €", "12.50 Euro",
    "May I book an appointment?", "Ich brauche einen neuen Pass", "march forward",
    "Fr. Müller hat mich geschickt", "Ja, genau so.", "What should I do.", "wait a second",
    "Termin am 3. Termin", "den 3. Termin nehme ich", "Ich nehme den ersten", "den 2. bitte",
    "Was muss ich mitbringen?",
    "9-11", "march 0351", "Vielen Dank, bis morgen!",
    "Happy new year!", "Prosit Neujahr!", "Frohe Weihnachten und einen guten Rutsch!",
]


@pytest.mark.parametrize("text", NOT_TIMES)
def test_not_a_time(text: str) -> None:
    assert resolve(text, NOW) is None
    assert extract(text, NOW) == []
    assert resolve(normalize_spoken(text), NOW) is None


def test_extract_finds_each_expression_left_to_right() -> None:
    found = extract("Montag um 10 oder Dienstag um 14 Uhr", NOW)
    assert [r.text for r in found] == ["Montag um 10", "Dienstag um 14 Uhr"]
    assert [r.start for r in found] == [_berlin("2026-11-30 10:00"), _berlin("2026-11-24 14:00")]


def test_extract_keeps_a_combined_expression_together() -> None:
    (found,) = extract("Geht morgen vormittag in Riesa?", NOW)
    assert found.text == "morgen vormittag"
    assert (found.start, found.end) == (_berlin("2026-11-24 08:00"), _berlin("2026-11-24 12:00"))


def test_extract_skips_the_greeting_and_keeps_tomorrow() -> None:
    (found,) = extract("Guten Morgen! Ich brauche morgen einen Termin.", NOW)
    assert found.text == "morgen"
    assert found.start == _berlin("2026-11-24 00:00")


def test_extract_two_dates() -> None:
    found = extract("Geht es am 3.12. oder am 4.12.?", NOW)
    assert [r.start.date().isoformat() for r in found] == ["2026-12-03", "2026-12-04"]


def test_resolve_combines_expressions_apart_and_spans_them() -> None:
    got = resolve("Morgen hätte ich Zeit, am liebsten so gegen 10", NOW)
    assert got is not None
    assert (got.start, got.end) == (_berlin("2026-11-24 10:00"), _berlin("2026-11-24 10:00"))
    assert got.text == "Morgen hätte ich Zeit, am liebsten so gegen 10"


def test_matched_text_is_the_input_as_written() -> None:
    got = resolve("Bitte ÜBERMORGEN um ZEHN Uhr", NOW)
    assert got is not None and got.text == "ÜBERMORGEN um ZEHN Uhr"


def test_to_api_is_iso_with_the_berlin_offset() -> None:
    got = resolve("morgen vormittag", NOW)
    assert got is not None
    assert got.to_api() == {"start": "2026-11-24T08:00:00+01:00",
                            "end": "2026-11-24T12:00:00+01:00"}
    summer = resolve("am 1.4. um 10", NOW)
    assert summer is not None and summer.to_api()["start"] == "2027-04-01T10:00:00+02:00"


def test_whole_days_end_at_23_59_59_without_microseconds() -> None:
    got = resolve("morgen", NOW.replace(microsecond=123456))
    assert got is not None
    assert got.end == _berlin("2026-11-24 23:59:59") and got.end.microsecond == 0


def test_naive_now_is_berlin_and_aware_now_is_converted() -> None:
    naive = resolve("morgen", datetime(2026, 11, 23, 10, 0))
    assert naive is not None and naive.start == _berlin("2026-11-24 00:00")
    # 23:30 UTC is already 00:30 on the 24th in Berlin: "morgen" is the 25th
    utc = resolve("morgen", datetime(2026, 11, 23, 23, 30, tzinfo=UTC))
    assert utc is not None and utc.start == _berlin("2026-11-25 00:00")


def test_asap_starts_now_to_the_second() -> None:
    got = resolve("asap", NOW.replace(minute=17, second=5, microsecond=999))
    assert got is not None
    assert got.start == _berlin("2026-11-23 10:17:05")
    assert got.end == _berlin("2026-12-07 10:17:05")


@pytest.mark.parametrize(("text", "lang", "want"), [
    ("12/3", "en", day("2026-12-03")),
    ("3/12", "en", day("2026-12-03")),  # a Briton's 3 December: the sooner reading
    ("12/3", "de", day("2027-03-12")),
    ("12/3", None, day("2027-03-12")),
    ("13/3", "en", day("2027-03-13")),  # only one valid reading
    ("3/13/2027", "en", day("2027-03-13")),
    ("10 am", "en", at("2026-11-23 10:00")),
    ("10 am", None, at("2026-11-23 10:00")),
    ("3 am", "en", at("2026-11-24 03:00")),
    ("um 10 am Montag", None, at("2026-11-30 10:00")),
    ("um 3 am Dienstag", None, at("2026-11-24 15:00")),
    ("um 3 am Dienstag", "de", at("2026-11-24 15:00")),
    ("10:30 am Freitag", "de", at("2026-11-27 10:30")),
])
def test_language_breaks_ties(text: str, lang: str | None, want: tuple[str, str]) -> None:
    got = resolve(text, NOW, lang)
    assert got is not None
    assert (got.start, got.end) == (_berlin(want[0]), _berlin(want[1]))


def test_german_am_without_a_number_is_not_a_time() -> None:
    assert resolve("10 am", NOW, "de") is None


@pytest.mark.parametrize(("text", "want"), [
    ("3-Dec-2026", day("2026-12-03")),
    ("2026.12.03", day("2026-12-03")),
    ("Termin am 03/Dec/2026 bitte", day("2026-12-03")),
])
def test_odd_full_dates_go_to_dateparser(text: str, want: tuple[str, str]) -> None:
    got = resolve(text, NOW)
    assert got is not None
    assert (got.start, got.end) == (_berlin(want[0]), _berlin(want[1]))


def test_time_range_is_frozen() -> None:
    got = resolve("heute", NOW)
    assert isinstance(got, TimeRange)
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.start = NOW  # type: ignore[misc]
