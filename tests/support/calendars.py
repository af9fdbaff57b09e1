"""The calendar tests' configuration: tests/configs/caldav.yml with one office's calendar set."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from assistant.testing.peers import radicale

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "caldav.yml"

# office_calendar(backend, options, office="meissen", plugins=None, **office_fields) -> Config
office_calendar = partial(radicale.office_calendar, CONFIG)
