"""Rate limits: a sliding one-minute window per key, in memory of this process.

`RateLimiter` counts per key (a sender, a client address, "global"). `Dialogue.handle` admits
each message through `admit`, which also notes who sent it (`requester`): the client's address
or kiosk terminal the HTTP channels put into `Incoming.metadata`, or the caller's number on
the phone channels. The guards further down (verification failures per client, staff
requests de-duplicated per contact) read it from there without every call passing it along.
"""

from __future__ import annotations

import math
import time
from collections import deque
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.messages import Incoming

# Who sent the message being handled in this task: "ip:…", "kiosk:…", "phone:…" or None.
REQUESTER: ContextVar[str | None] = ContextVar("amtsbote_requester", default=None)


def requester_of(metadata: dict[str, Any], verified_contact: str | None = None) -> str | None:
    """The requester key of a message: kiosk terminal, client address or caller's number."""
    terminal, ip, caller = (metadata.get(k) for k in ("terminal", "client_ip", "caller"))
    if isinstance(terminal, str) and terminal:
        return f"kiosk:{terminal}"
    if isinstance(ip, str) and ip:
        return f"ip:{ip}"
    number = caller if isinstance(caller, str) and caller else verified_contact
    return f"phone:{number}" if number else None


def requester() -> str | None:
    """Who sent the message this task is answering (see `RateLimiter.admit`)."""
    return REQUESTER.get()


class RateLimiter:
    """At most `per_minute` hits per key in any 60 seconds (0: no limit)."""

    def __init__(self, per_minute: int, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        return self.take(key) == 0

    def take(self, key: str) -> float:
        """Count one hit for `key`: 0 when allowed, else the seconds until one is allowed
        again (for `Retry-After`; the refused hit is not counted)."""
        if self.per_minute <= 0:
            return 0
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return max(hits[0] + 60 - now, 0.001)
        hits.append(now)
        if len(self._hits) > 100_000:  # forget idle senders
            for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - 60]:
                del self._hits[k]
        return 0

    def admit(self, msg: Incoming) -> bool:
        """Count one message of its sender (channel + sender) and note its requester for this
        task; False when the sender is over the limit."""
        REQUESTER.set(requester_of(msg.metadata or {}, msg.verified_contact))
        return self.allow(f"{msg.channel}:{msg.sender}")


def retry_after(seconds: float) -> int:
    """Whole seconds for a `Retry-After` header (at least 1)."""
    return max(1, math.ceil(seconds))
