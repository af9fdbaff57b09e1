"""Commands inside a sentence (abort, restart, a person), repeat, where, corrections."""

from __future__ import annotations

import re

from ._text import _fold

# -- commands inside a sentence ---------------------------------------------------------------

_ABORT = re.compile(
    r"\b(abbrechen|abbruch|lass(?:en)? (?:wir|mer|mal|sie|es) (?:das|es)(?: (?:sein|bleiben))?"
    r"|vergiss es|vergessen sie(?:'s| es| das)|kein(?:en)? termin mehr|will keinen termin"
    r"|möchte keinen termin|doch keinen termin|never ?mind|forget (?:it|about it)|stop it"
    r"|i don'?t want (?:it|this|the appointment|an appointment) any ?more|cancel (?:that|this)"
    r"|nicht mehr buchen|nicht buchen|abort|don'?t book(?: it| that| this)?|do not book|quit"
    r"|cancel (?:it|everything|the booking)|stop (?:it|this|that|here)"
    r"|brech\w* (?:sie |wir |mer )?(?:das|es|den termin|die buchung|alles)(?: \w+){0,2} ab"
    r"|brech\w* ab)\b"
)
_ABORT_WEAK = re.compile(r"^(?:ach )?(?:nee|nein|no)?,? ?(?:doch nicht|lieber nicht|stop|stopp"
                         r"|lass ma|lass mal)[.! ]*$")
_RESTART = re.compile(r"\b(neu starten|neustart|von vorn(?:e)?|nochmal von vorn|start over"
                      r"|start again|from the beginning)\b")
_HUMAN = re.compile(
    r"\b(mensch(?:en)?|mitarbeiter(?:in|innen)?|sachbearbeiter(?:in)?|jemand(?:em)? (?:vom amt|"
    r"echtes?)|echte[nm]? person|human|real person|a person|someone real|an agent"
    r"|speak to (?:someone|somebody|a person)|verbinden sie mich|connect me"
    r"|ruf\w* (?:ich |sie )?(?:lieber|doch|einfach|direkt|mal|selbst) an"
    r"|(?:lieber|doch|einfach|direkt|selbst) anrufen|call (?:me )?back"
    r"|callback|rückruf|rueckruf|zurückrufen|zurueckrufen"
    r"|ruf\w* (?:sie )?mich (?:zurück|zurueck|an)|call (?:the office|you) instead"
    r"|i'?ll (?:just )?call)\b")
_REPEAT = re.compile(
    r"^\W*(?:(?:entschuldigung|sorry|pardon|bitte|please)\W+)*(?:wie bitte|was haben sie gesagt"
    r"|(?:bitte )?(?:nochmal|noch einmal)(?: bitte)?|können sie das wiederholen|koennen sie das"
    r" wiederholen|wiederholen sie|(?:could|can) you (?:please )?(?:repeat|say) (?:that|it)"
    r"(?: again)?|(?:please )?repeat(?: that| it)?|say (?:that|it) again|what did you say"
    r"|pardon|sorry\?|hä|häh)(?:\W+(?:bitte|please))?\W*$")


def asks_to_repeat(text: str) -> bool:
    """"Wie bitte?", "sorry could you repeat that please": say the question again."""
    return bool(_REPEAT.match(_fold(text)))


_OPENING = re.compile(r"\b(geöffnet|geoeffnet|offen|open|opening|öffnungszeit\w*"
                      r"|oeffnungszeit\w*|geschlossen|closed|schließt|schliesst|close"
                      r"|which offices?|welche[sn]? (?:bürgerbüro|buergerbuero|büro|amt))\b"
                      r"|\bauf\W*$")


def asks_opening_hours(text: str) -> bool:
    """"How long is Riesa open on Tuesday?", "Hat Meißen am Mittwoch auf?"."""
    return "?" in text and bool(_OPENING.search(_fold(text)))


def aborts_strongly(text: str) -> bool:
    """"ach nee, lass ma, ich will doch keinen Termin mehr": the whole task is off, not only
    the question just asked ("nein, lieber nicht" to an optional question is a skip)."""
    return bool(_ABORT.search(_fold(text)))


def command_in_sentence(text: str) -> str | None:
    """`abort`, `restart` or `human` when a sentence asks for it, else None."""
    folded = _fold(text)
    if _RESTART.search(folded):
        return "restart"
    if _ABORT.search(folded) or _ABORT_WEAK.match(folded):
        return "abort"
    if _HUMAN.search(folded):
        return "human"
    return None


_INSULT = re.compile(
    r"\b(blöd\w*|bloed\w*|dumm\w*|doof\w*|scheiß\w*|scheiss\w*|mist\w*|idiot\w*|depp\w*"
    r"|stupid|useless|dumb|idiot|crap|rubbish|verstehst? (?:ja )?(?:gar )?(?:nix|nichts)"
    r"|verstehen mich nicht|versteht mich nicht|you don'?t understand|nutzlos)\b")


_WHERE = re.compile(r"(?:^|\b)(wo\b|wohin|adresse|anschrift|where|address|how do i get|wie komme"
                    r"|parkplatz|parkplätze|parkplaetze|parken|parking|haltestelle)")


def asks_where(text: str) -> bool:
    """A question where something is ("Wo ist das genau?", "Where can I do that?")."""
    return "?" in text and bool(_WHERE.search(_fold(text)))


_ANY_OFFICE = re.compile(
    r"\b(egal wo|egal in welche\w*|egal welche\w* (?:büro|bürgerbüro|amt|ort|stadt)|überall"
    r"|ueberall|irgendwo(?! (?:an|ab|um)?melden| beantragen| hin)|any office|anywhere"
    r"|any location|doesn'?t matter where|wherever"
    r"|no matter where)\b")


_CORRECTION = re.compile(r"\b(oder nee|oder nein|nee doch|nein doch|doch lieber|doch eher"
                         r"|lieber doch|actually|make it|rather|i mean|i meant|ich meine?"
                         r"|ich meinte|meinte ich|ne,? doch|(?:nee|nein|ne),? moment"
                         r"|no,? sorry|nein,? sorry|nee,? sorry|no,? wait|nein,? warte"
                         r"|nee,? doch)\b")


def corrects_itself(text: str) -> bool:
    """"Personalausweis, oder nee, doch Reisepass": the later mention is meant."""
    return bool(_CORRECTION.search(_fold(text)))


def after_correction(text: str) -> str:
    """The part of `text` after its last self-correction ("…, doch lieber den Reisepass, der
    Ausweis ist ja noch gültig" -> "den Reisepass, der Ausweis …"); the text if none."""
    found = list(_CORRECTION.finditer(text.casefold().replace("ß", "ss")))
    return text[found[-1].end():] if found else text
