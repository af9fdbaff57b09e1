"""Folding text for the readers: case and whitespace."""

from __future__ import annotations

import re


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", text.casefold().replace("ß", "ss")).strip()
