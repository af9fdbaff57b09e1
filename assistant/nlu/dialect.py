"""Saxon and messenger spellings to standard German, before anything else reads a message.

Older citizens in the Landkreis write as they speak ("Gehd das am Donnerstach?", "ich brauch
ä Termin", "mei Termin is ni mehr nötsch"), and messenger users drop letters ("perso", "do",
"fr"). The NLU was trained on standard forms, so those words are rewritten first. Only whole
words that are not standard German words themselves are rewritten.
"""

from __future__ import annotations

import re
from pathlib import Path

_WORDS = {
    # weekdays and days: Saxon -ach for -ag
    "montach": "Montag", "dienstach": "Dienstag", "donnerstach": "Donnerstag",
    "freitach": "Freitag", "samstach": "Samstag", "sonntach": "Sonntag", "morchen": "morgen",
    "übermorchen": "übermorgen",
    # verbs and function words
    "absachen": "absagen", "gehd": "geht", "gehds": "geht es", "is": "ist", "ni": "nicht",
    "nich": "nicht", "nisch": "nicht", "nischt": "nichts", "nix": "nichts", "och": "auch",
    "mei": "mein", "meene": "meine", "deene": "deine", "eene": "eine", "een": "ein",
    "eenen": "einen", "keene": "keine", "keen": "kein", "weeß": "weiß", "heeßt": "heißt",
    "heeße": "heiße", "glei": "gleich", "wern": "werden", "brauch": "brauche", "hab": "habe",
    "zweeten": "zweiten", "zweete": "zweite",
    "nochema": "noch einmal", "nochma": "noch mal", "ma": "mal", "warn": "war",
    "nachmitag": "Nachmittag", "vormitag": "Vormittag", "mo": "Montag", "di": "Dienstag",
    "mi": "Mittwoch", "do": "Donnerstag", "fr": "Freitag", "sa": "Samstag",
    "schaff": "schaffe", "bidde": "bitte", "dange": "danke", "uff": "auf", "mer": "wir",
    "dag": "Tag", "dage": "Tage", "drnach": "danach", "dernach": "danach", "späder": "später",
    "spaeder": "später", "neune": "neun", "zehne": "zehn", "elfe": "elf", "gönnse": "können Sie",
    "könnse": "können Sie", "hamse": "haben Sie", "gugge": "gucke", "nüscht": "nichts",
    # days and parts of the day as spoken in Saxony: "Dunnerschdaach", "nachmittaachs"
    "dunnerschdaach": "Donnerstag", "dunnerschdach": "Donnerstag", "dunnerstach": "Donnerstag",
    "dunnerstaach": "Donnerstag", "donnerschdaach": "Donnerstag", "donnerstaach": "Donnerstag",
    "freidaach": "Freitag", "freidach": "Freitag", "freitaach": "Freitag",
    "montaach": "Montag", "mondaach": "Montag", "mondach": "Montag", "dienstaach": "Dienstag",
    "diensdaach": "Dienstag", "diensdach": "Dienstag", "middwoch": "Mittwoch",
    "mittwuch": "Mittwoch", "samsdaach": "Samstag", "samstaach": "Samstag",
    "samsdach": "Samstag", "nachmittaachs": "nachmittags", "nachmiddaachs": "nachmittags",
    "nachmiddach": "Nachmittag", "vormittaachs": "vormittags", "vormiddaachs": "vormittags",
    "zwölfe": "zwölf", "eense": "eins", "zweie": "zwei", "dreie": "drei", "viere": "vier",
    "fünfe": "fünf", "sechse": "sechs", "siebene": "sieben",
}
# "um halbe neune": half past eight
_HALF = re.compile(r"(?i)\bhalbe(?=\s+(?:eins|zwei|drei|vier|fünf|sechs|sieben|acht|neun|neune"
                   r"|zehn|zehne|elf|elfe|zwölf|zwölfe|\d)\b)")
# Words typed without umlauts ("nachste woche", "fur", "ubermorgen"): built from the training data
# and catalogs by scripts/umlaut-words, leaving out spellings that are words themselves.
_UMLAUTS = dict(
    line.split() for line in
    (Path(__file__).with_name("umlaut_words.txt")).read_text(encoding="utf-8").splitlines()
    if line and not line.startswith("#"))
_ARTICLE = re.compile(r"(?<!\w)ä(?=\s+[A-ZÄÖÜa-zäöü])")  # "ä Termin" -> "einen Termin"
# SMS abbreviations with their dot: "Do nachm.", "nä. Wo. Mi", "vorm."
_ABBREVIATIONS = [
    (re.compile(r"(?<!\w)(?:nä|nae|näch|naechst)\.?\s*wo(?:che)?(?:\.|\b)", re.I),
     "nächste Woche"),
    (re.compile(r"(?<!\w)übern\.?\s*wo(?:che)?(?:\.|\b)", re.I), "übernächste Woche"),
    # services: "pers.ausw", "Pers. Ausw.", "reisep.", "führersch."
    (re.compile(r"(?<!\w)pers\.?\s*ausw\w*\.?", re.I), "Personalausweis"),
    (re.compile(r"(?<!\w)reisep\.(?!\w)", re.I), "Reisepass"),
    (re.compile(r"(?<!\w)(?:führersch|fuehrersch|fü-sch)\.?(?!\w)", re.I), "Führerschein"),
    (re.compile(r"(?<!\w)nachm(?:itt)?\.(?!\w)|(?<!\w)nachm\b", re.I), "nachmittags"),
    (re.compile(r"(?<!\w)vorm(?:itt)?\.(?!\w)|(?<!\w)vorm\b", re.I), "vormittags"),
]
_WORD = re.compile(r"(?<![\w-])([A-Za-zÄÖÜäöüß]+)(?![\w-])")


def with_umlauts(text: str) -> str:
    """`text` with words typed without umlauts written with them ("fur" -> "für", "uberspringen"
    -> "überspringen"); every reader of a German message sees the same words."""
    def word(m: re.Match[str]) -> str:
        w = m.group(1)
        std = _UMLAUTS.get(w.casefold())
        if std is None:
            return w
        return std[:1].upper() + std[1:] if w[:1].isupper() else std

    return _WORD.sub(word, text)


def standard_german(text: str) -> str:
    """`text` with Saxon and messenger spellings replaced by standard words."""
    text = _ARTICLE.sub("einen", text)
    text = _HALF.sub("halb", text)
    text = re.sub(r"(?i)\b(?:uff|auf)['’]n\b", "auf den", text)  # "uff'n Dag drnach"
    for pattern, standard in _ABBREVIATIONS:
        text = pattern.sub(standard, text)

    def word(m: re.Match[str]) -> str:
        w = m.group(1)
        std = _WORDS.get(w.casefold()) or _UMLAUTS.get(w.casefold())
        if std is None:
            return w
        return std[:1].upper() + std[1:] if w[:1].isupper() else std

    return _WORD.sub(word, text)
