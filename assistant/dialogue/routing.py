"""Which intention to act on when a message does not answer the question just asked.

Rasa's intent, corrected by what the message names: a service with an office or a day is a
booking whatever the scores; a code with a name is a check, move or cancel; a greeting with
entities is not small talk. When two readings lead to the same action there is no need to ask
back; otherwise the two likeliest are offered as buttons.
"""

from __future__ import annotations

import json
import re

from assistant.config import NluCfg
from assistant.dialogue import answers
from assistant.dialogue.turn import Turn
from assistant.dialogue.understanding import FLOW_INTENTS, Understanding
from assistant.nlu.spoken import normalize_spoken

UNSURE = "clarify"  # decide(): ask back
_GREETING = re.compile(r"\b(hall?o|hi|hey|hello|guten|moin|servus|gr(ü|ue)(ß|ss)|tag|abend"
                       r"|morning|evening|good|start)\b", re.I)
_MANAGE = ("check_appointment", "reschedule_appointment", "cancel_appointment")
_MOVE_WORDS = re.compile(r"\b(verschieb\w*|verleg\w*|umleg\w*|schieb\w*|umbuch\w*|reschedul\w*"
                         r"|earlier|früher|frueher|earliest|frühest\w*|fruehest\w*|sooner"
                         r"|move|push|postpone|change the (?:date|time)|geht (?:auch|och)"
                         r"|stattdessen|lieber am|instead|lieber (?:nach|in|ins|zum|zur|am|an)"
                         r"|(?:bitte )?auf (?!(?:den |dem )?namen)(?:den |die |das )?(?:nächst\w*"
                         r"|naechst\w*|übernächst\w*|morgen|übermorgen|montag|dienstag|mittwoch"
                         r"|donnerstag|freitag|samstag|\d))\b", re.I)
# "und noch den von meinem Mann", "that one too": the same again, for another appointment
_ALSO = re.compile(r"\b(noch|auch|ebenfalls|too|also|as well|another one|the other)\b", re.I)
# "ich hab nen Termin in Meißen …", "I have an appointment on Monday …": one already booked
_HAVE_ONE = re.compile(r"\b(?:ich )?(?:hab|habe|hätte|hatte) (?:da )?(?:nen|einen|ein|'n) termin"
                       r"|\bmein(?:en)? termin\b|\bi (?:have|had|got) an? appointment"
                       r"|\bder termin (?:ist|war)\b|\bthe appointment is\b"
                       r"|\bmy appointment\b", re.I)
_CHECK_WORDS = re.compile(r"\b(prüf\w*|pruef\w*|nachschau\w*|nachseh\w*|check\w*|wann (?:ist|war)"
                          r"|when is|steht (?:der|mein)|noch gültig|still valid|bestätig\w*)\b",
                          re.I)
_CANCEL_WORDS = re.compile(r"\b(absag\w*|abzusagen|stornier\w*|cancel\w*|nicht mehr brauch\w*"
                           r"|streich\w*|lösch\w*|loesch\w*|delete|sag\w*\b.{0,30}\bab\b"
                           r"|kann we[gc]h?|fällt aus|faellt aus|ausfallen|(?:nicht|ni) kommen)\b",
                           re.I)


# "Gleiche Zeit, aber in Riesa – geht das?", "is possible thursday afternoon?": beside a code,
# a wish for another time or place is a move, not a look-up.
_WISH = re.compile(r"\b(geht|ginge|gehen|möglich|moeglich|possible|could i|can i|kann ich|könnte"
                   r"|koennte|instead|stattdessen|lieber|rather|keep the same|gleiche|same time"
                   r"|passt (?:mir )?(?:gar |leider )?nicht|doesn'?t suit"
                   r"|schaff\w* (?:das |es )?(?:\w+ )?nicht|can'?t make it)\b", re.I)
# "Hat Meißen am Mi 2.12. auf?", "Is Coswig open on Christmas Eve?"
_OPEN_QUESTION = re.compile(
    r"\b(?:hat|haben|ist|sind|is|are)\b.*\b(?:auf|offen|geöffnet|geoeffnet|open|zu|geschlossen"
    r"|closed)\b(?:\s+(?:on|at|in|am|an|this|next|nächsten|naechsten|diesen)(?:\s+\w+){1,2})?"
    r"\W*$|\b(?:öffnungszeit\w*|oeffnungszeit\w*|opening hours)\b"
    r"|\b(?:which offices?|welche[sn]? (?:bürgerbüro|büro|amt))\b.*\?"
    # "Is the Coswig office open next Tuesday after 4:30 pm?"
    r"|^\W*(?:is|are|hat|haben|ist|sind)\b[^?]*\b(?:open|offen|geöffnet|geoeffnet)\b[^?]*\?\W*$"
    # "Kann ich am 30. Dezember in Meißen noch etwas erledigen?"
    r"|\b(?:kann|könnte|koennte) (?:ich|man)\b[^?]*\b(?:etwas|was|das) erledigen\b", re.I)
# beside a code: a question about that appointment ("Was muss ich zu meinem Termin … mitbringen?")
_ABOUT_IT = re.compile(r"\b(mitbring\w*|mitnehm\w*|bring|unterlagen|dokument\w*|documents?|kost\w*"
                       r"|cost\w*|gebühr\w*|gebuehr\w*|fee)\b", re.I)
_NEED = re.compile(r"\b(muss|müsste|muesste|brauch\w*|bräucht\w*|benötig\w*|umtauschen"
                   r"|beantragen|verlängern|erneuern|need|have to|must)\b", re.I)
_DOCUMENTS = re.compile(r"\b(was brauch\w* ich|was muss ich mitbringen|welche unterlagen"
                        r"|what do i need|what documents|what should i bring|what do i have to"
                        r" bring|was kostet|what does .{0,30} cost|how much)\b", re.I)
_BOOKING = re.compile(r"\b(termin\w*|appointment|buchen|book|need|brauch\w*|bräucht\w*"
                      r"|benötige|benoetige|want|möchte|moechte|hätte gern|haette gern)\b", re.I)
# getting an appointment one does not have yet: "ob ich einen Termin kriege", "can I get one"
_GET_ONE = re.compile(r"\b(?:einen|nen|ein|'n|an|a) (?:\w+ )?(?:termin|appointment) (?:\w+ ){0,4}?"
                      r"(?:krieg\w*|bekomm\w*|bekäm\w*|ausmachen|vereinbaren|machen)\b"
                      r"|\b(?:get|make|schedule|arrange) (?:an |a )?(?:new )?appointment\b"
                      r"|\b(?:krieg\w*|bekomm\w*) (?:ich|man|mer) (?:\w+ ){0,2}?"
                      r"(?:einen|nen|ein) termin",
                      re.I)
# "noch einen Termin", "a new appointment": a second booking, not a move of the first.
_ANOTHER = re.compile(r"\b(noch (?:ein|einen|nen)|neue[nmrs]?|weitere[nmrs]?|zweite[nmrs]?|another"
                      r"|new|second|für meine[nmr]?|for my)\b", re.I)


def unsure(meaning: Understanding, cfg: NluCfg) -> bool:
    if meaning.intent == "nlu_fallback" or meaning.confidence < cfg.confidence_threshold:
        return True
    ranked = [r for r in meaning.ranking if r[0] != "nlu_fallback"]
    return len(ranked) > 1 and ranked[0][1] - ranked[1][1] < cfg.ambiguity_margin and (
        meaning.confidence < 0.8)


def agreed_intent(meaning: Understanding, flow: str | None, cfg: NluCfg) -> str | None:
    """The intent to act on when the two likeliest intentions lead to the same action.

    "Ich brauche einen neuen Personalausweis in Meißen" may score booking 0.43 and inform 0.38:
    an answer naming a service outside a flow starts a booking, inside a flow it feeds that
    flow, so both readings do the same and asking back would only cost a turn.
    """
    top = [(name, conf) for name, conf in meaning.ranking if name != "nlu_fallback"][:2]
    if len(top) < 2 or sum(conf for _, conf in top) < cfg.confidence_threshold:
        return None
    flow_intent = next((i for i, f in FLOW_INTENTS.items() if f == flow), None)

    def action(name: str) -> str:
        if name == "inform":
            if flow_intent is not None:
                return flow_intent
            if meaning.service:
                return "book_appointment"
        return name

    actions = {action(name) for name, _ in top}
    return actions.pop() if len(actions) == 1 else None


def decide(turn: Turn, meaning: Understanding, cfg: NluCfg) -> str | None:
    """The intent to act on, `UNSURE` to ask back, or None (Rasa's own word)."""
    intent = meaning.intent
    if meaning.from_button or intent is None:
        return intent
    said = f"{meaning.text}\n{normalize_spoken(meaning.text, turn.lang)}"
    if turn.task is None and not meaning.reference and _HAVE_ONE.search(said) and (
            not _ANOTHER.search(meaning.text) and not _GET_ONE.search(said)):
        # "ich hab nen Termin in Meißen, aber ich würde lieber nach Großenhain gehen"
        if _CANCEL_WORDS.search(said):
            return "cancel_appointment"
        if _MOVE_WORDS.search(said):
            return "reschedule_appointment"
    if turn.task is None and not meaning.service and not meaning.reference and (
            meaning.office or meaning.has_time) and (
            _OPEN_QUESTION.search(meaning.text) or (
                "?" in meaning.text and meaning.office and meaning.has_time
                and len(meaning.text.split()) <= 4 and not _BOOKING.search(meaning.text))):
        return "ask_opening_hours"  # "Hat Meißen am Mi 2.12. auf?", "Silvester in Meißen?"
    if turn.task is None and not meaning.service and not meaning.reference and (
            meaning.office or meaning.has_time) and (
            turn.facts.start is not None and turn.facts.office is not None
            and answers.follows_up(meaning.text) and not _BOOKING.search(meaning.text)):
        return "ask_opening_hours"  # after "Hat Riesa am 1. Januar offen?": "Und am 2.?"
    if meaning.service and not meaning.reference and intent in {
            "nlu_fallback", "out_of_scope", "help", "greet"} and _BOOKING.search(meaning.text):
        return "book_appointment"  # "Sorry, do you speak English? I need a Meldebescheinigung"
    if (turn.task is None and meaning.service and not meaning.reference
            and _DOCUMENTS.search(meaning.text)):
        return "ask_service_info"  # "What do I need for Anmeldung? I've just moved here"
    if turn.task is None and not meaning.reference and not (meaning.office
            or meaning.has_time) and (
            meaning.service or turn.facts.service) and answers.follows_up(meaning.text) and (
            not _BOOKING.search(meaning.text)):
        return "ask_service_info"  # after the fee: "und Beglaubigung?", "und für meine Enkelin"
    facts = turn.facts
    said = f"{meaning.text}\n{normalize_spoken(meaning.text, turn.lang)}"
    if meaning.reference and turn.task is None and facts.last_done == "cancel" and (
            _ALSO.search(said)) and not (_MOVE_WORDS.search(said) or _CHECK_WORDS.search(said)):
        return "cancel_appointment"  # "Und jetzt noch den von meinem Mann: RGM-WQ6, auch Wolf"
    if turn.task is None and facts.reference and facts.last_start and not meaning.reference and (
            _CANCEL_WORDS.search(said)) and not _ANOTHER.search(meaning.text):
        return "cancel_appointment"  # after a check: "brauch ich nicht mehr, kannste den absagen?"
    if turn.task is None and facts.reference and facts.last_start and not meaning.reference and (
            _CHECK_WORDS.search(said)) and not meaning.has_time and not _ANOTHER.search(
                meaning.text):
        return "check_appointment"  # after a check: "wann ist der denn genau?"
    if turn.task is None and facts.reference and facts.last_start and meaning.has_time and (
            not answers.asks_opening_hours(meaning.text)) and (
            not meaning.service and not meaning.reference and intent != "cancel_appointment"
            and not _ANOTHER.search(meaning.text)):
        return "reschedule_appointment"  # "Freitag passt mir nicht. Geht Donnerstag?"
    if intent in _MANAGE and not meaning.reference and meaning.service and turn.task is None and (
            not (_CANCEL_WORDS.search(said) or _MOVE_WORDS.search(said)
                 or _CHECK_WORDS.search(said) or _HAVE_ONE.search(said))):
        return "book_appointment"  # "hab n gebrauchten gekauft, der muss angemeldet werden"
    if intent in _MANAGE and not meaning.reference and _GET_ONE.search(said) and not (
            _CANCEL_WORDS.search(said) or _MOVE_WORDS.search(said)):
        return "book_appointment"  # "ob ich einen Termin kriege wegen dem Wohngeld"
    if intent in _MANAGE and not meaning.reference and meaning.service and (meaning.office
            or meaning.has_time) and not (
            _CANCEL_WORDS.search(said) or _MOVE_WORDS.search(said) or _CHECK_WORDS.search(said)):
        return "book_appointment"  # a service, a place and a day, but nothing to look up
    if unsure(meaning, cfg):
        agreed = agreed_intent(meaning, turn.task.flow if turn.task else None, cfg)
        if intent == "inform" and meaning.has_entities:
            pass  # entities speak for themselves
        elif agreed is not None:
            intent = agreed
        elif meaning.service and (meaning.office or meaning.has_time) and not meaning.reference:
            intent = "book_appointment"  # "Kann ich am Freitag im Landratsamt eine …?"
        elif (meaning.service and not meaning.reference and "?" not in meaning.text
              and _NEED.search(meaning.text)):
            intent = "book_appointment"  # "… und muss meinen alten Führerschein umtauschen"
        elif meaning.reference:  # a code (and a name): the likeliest of check, move, cancel
            intent = next((name for name, _ in meaning.ranking if name in _MANAGE),
                          "check_appointment")
        else:
            return UNSURE
    if meaning.reference and intent in {"book_appointment", "inform"}:  # a code: no new booking
        intent = next((name for name, _ in meaning.ranking if name in _MANAGE),
                      "reschedule_appointment" if meaning.has_time else "check_appointment")
    if meaning.reference and (intent in _MANAGE or _ABOUT_IT.search(meaning.text)):
        # the verb says which ("verlegen", "absagen", "wann ist", "was muss ich mitbringen")
        said = f"{meaning.text}\n{normalize_spoken(meaning.text, turn.lang)}"  # "Gehd och …?" too
        intent = intent if intent in _MANAGE else "check_appointment"
        if _CANCEL_WORDS.search(said):
            intent = "cancel_appointment"
        elif _MOVE_WORDS.search(said) or (
                (meaning.office or meaning.has_time) and _WISH.search(said)):
            intent = "reschedule_appointment"
        elif _CHECK_WORDS.search(said) or _ABOUT_IT.search(said):
            intent = "check_appointment"  # "sorry i forget when is my appointment"
    if intent == "greet" and not _GREETING.search(meaning.text):
        intent = "nlu_fallback"
    if intent in {"greet", "goodbye", "thank"} and meaning.has_entities:
        intent = "inform"  # "Gut, dann buche ich das. In Meißen morgen."
    if (intent == "ask_service_info" and meaning.service and (meaning.has_time or meaning.office)
            and "?" not in meaning.text):
        intent = "book_appointment"  # "Meldebescheinigung in Radebeul morgen"
    return intent


def guess_from_entities(turn: Turn, meaning: Understanding) -> str | None:
    """An "inform" outside a task: what the named things suggest, or None (asked back)."""
    known = turn.facts.service
    if meaning.reference and meaning.has_time:
        return "reschedule_appointment"  # "… Freitag geht auch?"
    if meaning.reference and answers.proof_beside_code(meaning.text):
        return "check_appointment"  # a code and a name: show it (it needs both anyway)
    if meaning.service or (known and (meaning.office or meaning.has_time)):
        return "book_appointment"
    if meaning.office and meaning.has_time:
        return "book_appointment"  # "kann ich am Montag in Meißen vorbeikommen?"
    return None


def clarify_buttons(turn: Turn, meaning: Understanding) -> list[tuple[str, str]]:
    """(catalog key, payload) for the two likeliest intentions, entities carried along."""
    options = [name for name, _ in meaning.ranking
               if name not in {"nlu_fallback", "out_of_scope", "inform", "affirm", "deny",
                               "greet", "goodbye", "thank"}][:2]
    ents = {k: getattr(meaning, k) for k in ("service", "office", "reference") if getattr(meaning,
            k)}
    if meaning.start is not None and meaning.end is not None:
        ents.update(start=meaning.start.isoformat(), end=meaning.end.isoformat())
    extra = json.dumps(ents, ensure_ascii=False) if ents else ""
    return [(f"intent.{o}", f"/{o}{extra}") for o in options]


def is_insult(meaning: Understanding) -> bool:
    """An insult or a citizen lost in the conversation: answered calmly, with a way out
    (unless the message asks for a person: then that is the way out)."""
    return not meaning.from_button and not meaning.has_entities and meaning.command != "human" and (
        answers.is_insult(meaning.text) or answers.is_confused(meaning.text))
