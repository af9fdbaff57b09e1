"""CSRF tokens: every form of the back office carries one (hidden field `csrf_token`); a POST
without the right one is refused with 403 before anything else happens. Logged-in forms use
the session's token; the login form uses a token in a short-lived cookie of its own (double
submit), so a login cannot be forced from another site either."""

from __future__ import annotations

import hmac
import secrets

FIELD = "csrf_token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def valid(expected: str | None, given: object) -> bool:
    """True when `given` (the form's value) is the expected token (constant time)."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())
