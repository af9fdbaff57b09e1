"""HTTP client for Rasa's `POST /model/parse`, with timeout, retries and a circuit breaker.

When Rasa is down, slow or keeps failing, every call raises `NLUUnavailable` quickly: after
`breaker_failures` failed calls in a row the breaker opens and calls fail at once for
`breaker_seconds`; then one call is let through to probe whether Rasa is back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

_RETRY_PAUSE_SECONDS = 0.2


class NLUUnavailable(Exception):
    """Rasa cannot be reached, answered with an error, was too slow, or the breaker is open."""


class RasaClient:
    def __init__(
        self,
        url: str,
        timeout_seconds: float = 3.0,
        retries: int = 1,
        breaker_failures: int = 3,
        breaker_seconds: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.retries = max(0, retries)
        self.breaker_failures = max(1, breaker_failures)
        self.breaker_seconds = breaker_seconds
        self._session: aiohttp.ClientSession | None = None
        self._failures = 0
        self._open_until = 0.0

    @property
    def breaker_open(self) -> bool:
        return time.monotonic() < self._open_until

    async def parse_raw(self, text: str) -> dict[str, Any]:
        """Rasa's JSON for `text` (intent, intent_ranking, entities, text)."""
        if self.breaker_open:
            raise NLUUnavailable(f"Rasa at {self.url} failed repeatedly; not asking it for now")
        error: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(_RETRY_PAUSE_SECONDS)
            try:
                result = await self._post(text)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                error = exc
                log.warning("Rasa parse failed (attempt %d): %r", attempt + 1, exc)
                continue
            self._failures = 0
            return result
        self._failures += 1
        if self._failures >= self.breaker_failures:
            self._open_until = time.monotonic() + self.breaker_seconds
            # Half-open afterwards: one more failure re-opens the breaker at once.
            self._failures = self.breaker_failures - 1
            log.error("Rasa at %s unavailable, breaker open for %ss", self.url,
                      self.breaker_seconds)
        raise NLUUnavailable(f"Rasa at {self.url} is unavailable: {error!r}") from error

    async def _post(self, text: str) -> dict[str, Any]:
        session = self._session_or_new()
        async with session.post(f"{self.url}/model/parse", json={"text": text}) as resp:
            if resp.status >= 300:
                body = (await resp.text())[:200]
                raise aiohttp.ClientResponseError(
                    resp.request_info, resp.history, status=resp.status, message=body
                )
            data = await resp.json()
        if not isinstance(data, dict) or "intent" not in data:
            raise ValueError(f"unexpected answer from Rasa: {str(data)[:200]}")
        return data

    def _session_or_new(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
