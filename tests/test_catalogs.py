"""Every text the core shows exists in German and English, with the same placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

from assistant.i18n import catalog

ROOT = Path(__file__).resolve().parent.parent
USE = re.compile(r'(?:\bt|talk\.say|talk\.button|_say|Reply\(text=t)\(\s*"([a-z_]+(?:\.[a-z_]+)+)"')


def _fields(text: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(text) if f}


def _used() -> set[str]:
    used: set[str] = set()
    for path in [*(ROOT / "assistant").rglob("*.py"), *(ROOT / "actions").rglob("*.py")]:
        used |= set(USE.findall(path.read_text()))
    return used


def test_every_key_the_code_uses_is_in_both_catalogs() -> None:
    used = _used()
    assert len(used) > 60
    de, en = catalog("de"), catalog("en")
    missing = sorted(k for k in used if k not in de or k not in en)
    assert not missing, f"keys missing from a catalog: {missing}"


def test_german_and_english_agree_on_placeholders() -> None:
    """For the core's texts (a plugin's spoken forms may differ: "halb zehn" = "half past nine")."""
    de, en = catalog("de"), catalog("en")
    assert set(de) == set(en)
    for key in _used():
        assert _fields(de[key]) == _fields(en[key]), key
