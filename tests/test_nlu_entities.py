"""Service and office names, as citizens write them, map to catalogue ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import load_config
from assistant.nlu.entities import EntityResolver

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def resolver() -> EntityResolver:
    return EntityResolver(load_config(ROOT / "config.yml"))


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("service", "personalausweis", "personalausweis"),
        ("service", "Perso", "personalausweis"),
        ("service", "den Personalausweis", "personalausweis"),
        ("service", "ID card", "personalausweis"),
        ("service", "Lappen", "fuehrerschein"),
        ("service", "Führerschein", "fuehrerschein"),
        ("service", "Fuehrerschein", "fuehrerschein"),
        ("service", "Fuhrerschein", "fuehrerschein"),
        ("service", "Fuehrerschien", "fuehrerschein"),
        ("service", "drivers licence", "fuehrerschein"),
        ("service", "Auto ummelden", "kfz_zulassung"),
        ("service", "Kennzeichen", "kfz_zulassung"),
        ("service", "Auto abmelden", "kfz_abmeldung"),
        ("service", "Reisepasses", "reisepass"),
        ("service", "Wohnsitz anmelden / ummelden", "wohnsitz_anmeldung"),
        ("service", "Certificate of good conduct", "fuehrungszeugnis"),
        ("office", "Meißen", "meissen"),
        ("office", "Meissen", "meissen"),
        ("office", "Bürgerbüro Riesa", "riesa"),
        ("office", "Großenhain", "grossenhain"),
        ("office", "Grossenhain", "grossenhain"),
        ("office", "Grosenhein", "grossenhain"),
        ("office", "Radebeil", "radebeul"),
    ],
)
def test_names_resolve_to_catalogue_ids(
    resolver: EntityResolver, kind: str, value: str, expected: str
) -> None:
    assert resolver.resolve(kind, value) == expected


@pytest.mark.parametrize(
    ("kind", "value"),
    [("service", "Termin"), ("service", "Meißen"), ("office", "Perso"), ("service", "abmelden"),
     ("office", "Dresden"), ("service", "")],
)
def test_other_words_do_not_resolve(resolver: EntityResolver, kind: str, value: str) -> None:
    assert resolver.resolve(kind, value) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("perso riesa morgen", [("service", "personalausweis"), ("office", "riesa")]),
        ("Ich brauche einen neuen Fuehrerschien in Grosenhein",
         [("service", "fuehrerschein"), ("office", "grossenhain")]),
        ("Kann ich in Meissen mein Auto abmelden?",
         [("office", "meissen"), ("service", "kfz_abmeldung")]),
        ("car registration in Meißen", [("service", "kfz_zulassung"), ("office", "meissen")]),
        ("Die Wohngeld-Beratung per Video", [("service", "wohngeld")]),
    ],
)
def test_scan_finds_names_in_free_text(
    resolver: EntityResolver, text: str, expected: list[tuple[str, str]]
) -> None:
    assert [(m.entity, m.value) for m in resolver.scan(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "die meisten Termine passen mir nicht",
        "Termin für eine Person",
        "Can I pass by tomorrow?",
        "I am moving my appointment to Friday",
        "Mein Name ist Sabine Hoffmann.",
        "Ich möchte mich für den Kurs anmelden",
    ],
)
def test_scan_ignores_everyday_words(resolver: EntityResolver, text: str) -> None:
    assert resolver.scan(text) == []
