"""Per-sender rate limit: a sliding one-minute window, in memory of this process."""

from __future__ import annotations

import time
from collections import deque


class RateLimiter:
    def __init__(self, per_minute: int, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.per_minute = per_minute
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}

    def allow(self, key: str) -> bool:
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - 60:
            hits.popleft()
        if len(hits) >= self.per_minute:
            return False
        hits.append(now)
        if len(self._hits) > 100_000:  # forget idle senders
            for k in [k for k, v in self._hits.items() if not v or v[-1] <= now - 60]:
                del self._hits[k]
        return True
