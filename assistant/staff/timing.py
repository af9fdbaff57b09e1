"""The clerk's handling time ("Verarbeitungszeit"): from opening a form (booking, moving or
cancelling on behalf) to saving it.

The form carries when it was opened (`ctx.now()` at the first GET) in a hidden field,
signed with the session's secret CSRF token, so it survives the steps of a form (choosing a
service and a day, an error, a confirmation) and cannot be made up or carried into another
session. Saving reads it back: the milliseconds between are written with the audit row; an
absent, forged or implausible value gives no duration (None), never an error."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

FIELD = "opened"
# Longer than this between opening and saving is a form left open, not handling time.
MAX_MS = 4 * 3600 * 1000


def _ms(t: datetime) -> int:
    return round(t.timestamp() * 1000)


def _signature(secret: str, ms: int) -> str:
    return hmac.new(secret.encode(), f"opened:{ms}".encode(), hashlib.sha256).hexdigest()[:32]


def stamp(secret: str, now: datetime) -> str:
    """A new `opened` value for a form shown at `now`."""
    ms = _ms(now)
    return f"{ms}.{_signature(secret, ms)}"


def valid(secret: str, value: object) -> bool:
    return opened_ms(secret, value) is not None


def opened_ms(secret: str, value: object) -> int | None:
    if not isinstance(value, str) or len(value) > 80 or value.count(".") != 1:
        return None
    raw, signature = value.split(".")
    if not raw.isascii() or not raw.isdigit():
        return None
    ms = int(raw)
    if not hmac.compare_digest(_signature(secret, ms), signature):
        return None
    return ms


def keep_or_stamp(secret: str, value: object, now: datetime) -> str:
    """The form's `opened` value carried on, or a new one when there is none (or a bad one)."""
    return value if isinstance(value, str) and valid(secret, value) else stamp(secret, now)


def duration_ms(secret: str, value: object, now: datetime) -> int | None:
    """Milliseconds from the form's opening to `now`; None without a valid, plausible stamp."""
    ms = opened_ms(secret, value)
    if ms is None:
        return None
    spent = _ms(now) - ms
    return spent if 0 <= spent <= MAX_MS else None
