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
from assistant.dialogue.talk import Talk
from assistant.dialogue.understanding import FLOW_INTENTS, Understanding
from assistant.nlu.spoken import normalize_spoken

UNSURE = "clarify"  # decide(): ask back
_GREETING = re.compile(r"\b(hall?o|hi|hey|hello|guten|moin|servus|gr(ü|ue)(ß|ss)|tag|abend"
                       r"|morning|evening|good|start)\b", re.I)
_MANAGE = ("check_appointment", "reschedule_appointment", "cancel_appointment")
_MOVE_WORDS = re.compile(r"\b(verschieb\w*|verleg\w*|umleg\w*|schieb\w*|umbuch\w*|reschedul\w*"
                         r"|earlier|früher|frueher|earliest|frühest\w*|fruehest\w*|sooner"
                         r"|move|push|postpone|change the (?:date|time)|geht (?:auch|och)"
                         r"|stattdessen|lieber am|instead)\b", re.I)
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
    r"|closed)\b\W*$|\b(?:öffnungszeit\w*|oeffnungszeit\w*|opening hours)\b", re.I)
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
# "noch einen Termin", "a new appointment": a second booking, not a move of the first.
_ANOTHER = re.compile(r"\b(noch (?:ein|einen|nen)|neue[nmrs]?|weitere[nmrs]?|zweite[nmrs]?|another"
                      r"|new|second|für meine[nmr]?|for my)\b", re.I)


def unsure(u: Understanding, cfg: NluCfg) -> bool:
    if u.intent == "nlu_fallback" or u.confidence < cfg.confidence_threshold:
        return True
    ranked = [r for r in u.ranking if r[0] != "nlu_fallback"]
    return len(ranked) > 1 and ranked[0][1] - ranked[1][1] < cfg.ambiguity_margin and (
        u.confidence < 0.8)


def agreed_intent(u: Understanding, flow: str | None, cfg: NluCfg) -> str | None:
    """The intent to act on when the two likeliest intentions lead to the same action.

    "Ich brauche einen neuen Personalausweis in Meißen" may score booking 0.43 and inform 0.38:
    an answer naming a service outside a flow starts a booking, inside a flow it feeds that
    flow, so both readings do the same and asking back would only cost a turn.
    """
    top = [(name, conf) for name, conf in u.ranking if name != "nlu_fallback"][:2]
    if len(top) < 2 or sum(conf for _, conf in top) < cfg.confidence_threshold:
        return None
    flow_intent = next((i for i, f in FLOW_INTENTS.items() if f == flow), None)

    def action(name: str) -> str:
        if name == "inform":
            if flow_intent is not None:
                return flow_intent
            if u.service:
                return "book_appointment"
        return name

    actions = {action(name) for name, _ in top}
    return actions.pop() if len(actions) == 1 else None


def decide(talk: Talk, u: Understanding, cfg: NluCfg) -> str | None:
    """The intent to act on, `UNSURE` to ask back, or None (Rasa's own word)."""
    intent = u.intent
    if u.from_button or intent is None:
        return intent
    if talk.task is None and not u.service and not u.reference and (u.office or u.has_time) and (
            _OPEN_QUESTION.search(u.text) or (
                "?" in u.text and u.office and u.has_time and len(u.text.split()) <= 4
                and not _BOOKING.search(u.text))):
        return "ask_opening_hours"  # "Hat Meißen am Mi 2.12. auf?", "Silvester in Meißen?"
    if talk.task is None and not u.service and not u.reference and (u.office or u.has_time) and (
            talk.facts.start is not None and talk.facts.office is not None
            and answers.follows_up(u.text) and not _BOOKING.search(u.text)):
        return "ask_opening_hours"  # after "Hat Riesa am 1. Januar offen?": "Und am 2.?"
    if u.service and not u.reference and intent in {
            "nlu_fallback", "out_of_scope", "help", "greet"} and _BOOKING.search(u.text):
        return "book_appointment"  # "Sorry, do you speak English? I need a Meldebescheinigung"
    if talk.task is None and u.service and not u.reference and _DOCUMENTS.search(u.text):
        return "ask_service_info"  # "What do I need for Anmeldung? I've just moved here"
    if talk.task is None and not u.reference and not (u.office or u.has_time) and (
            u.service or talk.facts.service) and answers.follows_up(u.text) and (
            not _BOOKING.search(u.text)):
        return "ask_service_info"  # after the fee: "und Beglaubigung?", "und für meine Enkelin"
    facts = talk.facts
    said = f"{u.text}\n{normalize_spoken(u.text, talk.lang)}"
    if talk.task is None and facts.reference and facts.last_start and not u.reference and (
            _CANCEL_WORDS.search(said)) and not _ANOTHER.search(u.text):
        return "cancel_appointment"  # after a check: "brauch ich nicht mehr, kannste den absagen?"
    if talk.task is None and facts.reference and facts.last_start and not u.reference and (
            _CHECK_WORDS.search(said)) and not u.has_time and not _ANOTHER.search(u.text):
        return "check_appointment"  # after a check: "wann ist der denn genau?"
    if talk.task is None and facts.reference and facts.last_start and u.has_time and (
            not u.service and not u.reference and intent != "cancel_appointment"
            and not _ANOTHER.search(u.text)):
        return "reschedule_appointment"  # "Freitag passt mir nicht. Geht Donnerstag?"
    if intent in _MANAGE and not u.reference and u.service and (u.office or u.has_time) and not (
            _CANCEL_WORDS.search(said) or _MOVE_WORDS.search(said) or _CHECK_WORDS.search(said)):
        return "book_appointment"  # a service, a place and a day, but nothing to look up
    if unsure(u, cfg):
        agreed = agreed_intent(u, talk.task.flow if talk.task else None, cfg)
        if intent == "inform" and u.has_entities:
            pass  # entities speak for themselves
        elif agreed is not None:
            intent = agreed
        elif u.service and (u.office or u.has_time) and not u.reference:
            intent = "book_appointment"  # "Kann ich am Freitag im Landratsamt eine …?"
        elif u.service and not u.reference and "?" not in u.text and _NEED.search(u.text):
            intent = "book_appointment"  # "… und muss meinen alten Führerschein umtauschen"
        elif u.reference:  # a code (and a name): the likeliest of check, move, cancel
            intent = next((name for name, _ in u.ranking if name in _MANAGE),
                          "check_appointment")
        else:
            return UNSURE
    if u.reference and intent == "book_appointment":  # a code is never a new booking
        intent = next((name for name, _ in u.ranking if name in _MANAGE),
                      "reschedule_appointment" if u.has_time else "check_appointment")
    if u.reference and (intent in _MANAGE or _ABOUT_IT.search(u.text)):
        # the verb says which ("verlegen", "absagen", "wann ist", "was muss ich mitbringen")
        said = f"{u.text}\n{normalize_spoken(u.text, talk.lang)}"  # "Gehd och …?" too
        intent = intent if intent in _MANAGE else "check_appointment"
        if _CANCEL_WORDS.search(said):
            intent = "cancel_appointment"
        elif _MOVE_WORDS.search(said) or (
                (u.office or u.has_time) and _WISH.search(said)):
            intent = "reschedule_appointment"
        elif _CHECK_WORDS.search(said) or _ABOUT_IT.search(said):
            intent = "check_appointment"  # "sorry i forget when is my appointment"
    if intent == "greet" and not _GREETING.search(u.text):
        intent = "nlu_fallback"
    if intent in {"greet", "goodbye", "thank"} and u.has_entities:
        intent = "inform"  # "Gut, dann buche ich das. In Meißen morgen."
    if (intent == "ask_service_info" and u.service and (u.has_time or u.office)
            and "?" not in u.text):
        intent = "book_appointment"  # "Meldebescheinigung in Radebeul morgen"
    return intent


def guess_from_entities(talk: Talk, u: Understanding) -> str | None:
    """An "inform" outside a task: what the named things suggest, or None (asked back)."""
    known = talk.facts.service
    if u.service or (known and (u.office or u.has_time)):
        return "book_appointment"
    if u.reference and u.has_time:
        return "reschedule_appointment"  # "… Freitag geht auch?"
    if u.reference and answers.proof_beside_code(u.text):
        return "check_appointment"  # a code and a name: show it (it needs both anyway)
    if u.office and u.has_time:
        return "book_appointment"  # "kann ich am Montag in Meißen vorbeikommen?"
    return None


def clarify_buttons(talk: Talk, u: Understanding) -> list[tuple[str, str]]:
    """(catalog key, payload) for the two likeliest intentions, entities carried along."""
    options = [name for name, _ in u.ranking
               if name not in {"nlu_fallback", "out_of_scope", "inform", "affirm", "deny",
                               "greet", "goodbye", "thank"}][:2]
    ents = {k: getattr(u, k) for k in ("service", "office", "reference") if getattr(u, k)}
    if u.start is not None and u.end is not None:
        ents.update(start=u.start.isoformat(), end=u.end.isoformat())
    extra = json.dumps(ents, ensure_ascii=False) if ents else ""
    return [(f"intent.{o}", f"/{o}{extra}") for o in options]


def is_insult(u: Understanding) -> bool:
    """An insult or a citizen lost in the conversation: answered calmly, with a way out."""
    return not u.from_button and not u.has_entities and (
        answers.is_insult(u.text) or answers.is_confused(u.text))
