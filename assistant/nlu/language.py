"""German or English? One answer per message, cheap enough to run on every message.

`detect_language(text, previous)` returns "de" or "en":

1. Words only one of the two languages uses in a chat with a public office ("ich", "bitte",
   "möchte" / "moechte", "nächste"; "I", "the", "please", "appointment") are counted;
   umlauts and ß count for German. Words both languages share or that say nothing ("ok",
   "super", "Riesa", "K7Q-M4P", "10:30", "in", "am", "was", "will", "also") count for neither.
2. A clear count decides: for a short message one marker more is enough; for a longer one
   the lead must be two, else the statistical detector (lingua, German and English only,
   built once on first use) decides when it is confident.
3. Otherwise (no words, emojis, numbers, codes, place names, "ok") the conversation keeps its
   language: `previous`, or "de" at the start.

A one-word message switches only with a chat word ("ja", "danke", "yes", "thanks") or an
English word ("appointment"): German official terms and words with umlauts ("Anmeldung",
"Führerschein", "Hauptstraße") keep the conversation's language, since English speakers in
Germany use them too; with English words around them they do not count at all ("I need an
Anmeldung", "Reisepass please"). lingua's models load all at once (about a second, once per
process): the server does it at start-up (`load_models`), elsewhere the first statistical
detection does.

So German typed without umlauts ("ich moechte einen termin fuer meinen perso") is German,
non-native English ("I want make appointment for passport") is English, and German with
English loanwords ("Ich brauche ein Meeting per Video") stays German.
"""

from __future__ import annotations

import re
from functools import cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

__all__ = ["detect_language", "load_models"]

DEFAULT = "de"
_MIN_CONFIDENCE = 0.75  # lingua's confidence for German vs English before it may decide
_SHORT = 3  # messages of up to this many words are decided by one marker


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


# Words that mark German in any message, even alone ("ja", "bitte", "morgen").
_GERMAN = _words("""
ich du er sie wir ihr mich mir dich dir uns euch ihnen sich mein meine meinen meinem meiner
meins dein deine ihre ihren ihrem unser unsere der die das den dem des ein eine einen einem
einer kein keine keinen nicht und oder aber doch sondern denn weil dass ob wenn als wie wo
wann warum wieso weshalb wer wen wem welche welcher welchen welches womit wofür wofuer ja
jein nein nee noe nö bitte danke dankeschön dankeschoen vielen dank hallo moin servus tschüss
tschuess guten gute tag morgen abend nacht gern gerne ist sind bin bist sei war waren hat
habe hast haben hatte hätte haette hätten haetten möchte moechte möchten moechten würde
wuerde würden wuerden könnte koennte könnten koennten kann kannst können koennen muss musst
müssen muessen brauche brauchst brauchen bräuchte braeuchte wollte wollen soll sollte gibt
geht gehen komme kommen kommt mache machen macht weiß weiss wissen mit für fuer von vom zum
zur auf aus bei beim nach noch schon auch nur sehr mal jetzt heute übermorgen uebermorgen
gestern später spaeter früher frueher bald nächste naechste nächsten naechsten nächster
naechster kommenden diese dieser diesen woche wochen uhr vormittag vormittags nachmittag
nachmittags abends mittags montag dienstag mittwoch donnerstag freitag samstag sonnabend
sonntag januar februar märz maerz juni juli oktober dezember verschieben absagen stornieren
buchen vereinbaren ändern aendern umbuchen gut genau stimmt richtig falsch klar prima toll
leider vielleicht hier dort dann sonst bis zwischen gegen ab um über ueber unter hilfe frage
fragen kosten kostet dauert mitbringen geöffnet geoeffnet geschlossen anderen andere anderer
passt lieber besser egal möglich moeglich
""")
# German official terms: English speakers in Germany use them too ("I need an Anmeldung"), so
# they count only with other words and no English ones, never as a whole message.
_GERMAN_TERMS = _words("""
termin termine terminen ausweis personalausweis perso reisepass pass führerschein
fuehrerschein anmeldung ummeldung abmeldung ummelden anmelden abmelden wohngeld
führungszeugnis fuehrungszeugnis beglaubigung zulassung kennzeichen bürgerbüro buergerbuero
unterlagen öffnungszeiten oeffnungszeiten wochenende zeit uhrzeit datum nummer absage
""")
_ENGLISH = _words("""
i i'm i'd i'll i've me my mine you you're your yours he she it it's we we're our they their
them is are be been being have has had do does did don't doesn't can't cannot could would
should shall want wanna need needs like make book booking change cancel reschedule move
appointment appointments the a and or but not no yes yeah yep nope please pls thanks thank
thx hello good morning afternoon evening today tomorrow tonight next week weeks this that
these those what when where which who why how with for from to of on at by after before
between about around monday tuesday wednesday thursday friday saturday sunday january
february march june july october december passport card licence license driving driver's
registration register certificate address housing benefit help time date day days there
here any some sure great fine right correct wrong earlier later soon possible o'clock pm
available free slot slots just only too very much many get got go going come coming there's
what's where's how's instead other another again still already maybe perhaps if then than
because since until till bye goodbye exchange renew renewal extend extension apply application
lost stolen expired new old replace replacement
""")
# Place names of the pilot district say nothing about the language ("Meißen", "Riesa").
_NEUTRAL = _words("""
meißen meissen riesa großenhain grossenhain radebeul coswig weinböhla weinboehla moritzburg
radeburg nossen lommatzsch gröditz groeditz strehla nünchritz nuenchritz zeithain priestewitz
klipphausen käbschütztal kaebschuetztal niederau thiendorf ebersbach dresden sachsen saxony
landkreis hain
do so
""")

_TOKEN = re.compile(r"[\w'’-]+")
_UMLAUT = re.compile("[äöüß]")


@cache
def _detector() -> LanguageDetector:
    """Built on first use with all its models (about a second, once): loaded lazily, they
    came piece by piece on later messages, each time holding up every conversation."""
    return LanguageDetectorBuilder.from_languages(
        Language.GERMAN, Language.ENGLISH).with_preloaded_language_models().build()


def load_models() -> None:
    """Build the statistical detector now (the server does at start-up, in a thread) rather
    than on the first message that needs it. Clear messages never need it, so a warm-up by
    `detect_language` would not do."""
    _detector()


def detect_language(text: str, previous: str | None = None) -> str:
    """ "de" or "en" for `text`; messages that do not tell keep `previous` (default "de")."""
    fallback = previous if previous in ("de", "en") else DEFAULT
    words = [w for w in (t.strip("'’-").lower().replace("’", "'") for t in _TOKEN.findall(text))
             if w and not any(c.isdigit() or c == "_" for c in w) and w not in _NEUTRAL]
    if not words:
        return fallback
    english = sum(1 for w in words if w in _ENGLISH)
    german = sum(1 for w in words if w in _GERMAN)
    if len(words) > 1 and not english:
        german += sum(1 for w in words if w not in _GERMAN and (
            w in _GERMAN_TERMS or _UMLAUT.search(w)))
    lead = german - english
    if lead and (len(words) <= _SHORT or abs(lead) >= 2):
        return "de" if lead > 0 else "en"
    if len(words) == 1:
        return fallback  # "ok", "Anmeldung", "Hauptstraße": not enough to switch
    # the statistics see the words without the German terms ("Reisepass please" is English)
    plain = " ".join(w for w in words if w not in _GERMAN_TERMS)
    confidence = _detector().compute_language_confidence(plain, Language.GERMAN) if plain else 0.5
    if confidence >= _MIN_CONFIDENCE:
        return "de"
    if 1 - confidence >= _MIN_CONFIDENCE:
        return "en"
    if lead:
        return "de" if lead > 0 else "en"
    return fallback

