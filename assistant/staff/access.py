"""Which offices a staff user may see and change: a clerk's and an office admin's own
offices (as `amtsbote staff add --office` gave them), every office for a county admin."""

from __future__ import annotations

from assistant.config import Config
from assistant.storage.models import StaffUser


def visible_offices(user: StaffUser, config: Config) -> list[str]:
    """The ids of the offices `user` may see, in the catalogue's order."""
    if user.role == "county_admin":
        return [o.id for o in config.offices]
    own = set(user.offices or [])
    return [o.id for o in config.offices if o.id in own]


def may_see(user: StaffUser, config: Config, office_id: str) -> bool:
    return office_id in visible_offices(user, config)
