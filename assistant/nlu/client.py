"""HTTP client for Rasa's `POST /model/parse`, with timeout, retries and a circuit breaker.

When Rasa is down, slow or keeps failing, every call raises `NLUUnavailable` quickly: after
`breaker_failures` failed calls in a row the breaker opens and calls fail at once for
`breaker_seconds`; then one call is let through to probe whether Rasa is back (the calls that
arrive while the probe is under way fail at once too), and its failure opens the breaker again.

A timeout opens the breaker at once and is not retried: a Rasa that hangs (overloaded, stopped,
a network that drops packets) would otherwise cost every message `timeout_seconds` times
`retries + 1`. Refused connections and error answers are cheap, so they are retried and count
towards `breaker_failures`.
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
        self._tripped = False  # opened and not closed by a success since
        self._probing = False

    @property
    def breaker_open(self) -> bool:
        return time.monotonic() < self._open_until

    async def parse_raw(self, text: str) -> dict[str, Any]:
        """Rasa's JSON for `text` (intent, intent_ranking, entities, text)."""
        if self.breaker_open:
            raise NLUUnavailable(f"Rasa at {self.url} failed repeatedly; not asking it for now")
        probe = self._tripped
        if probe:
            if self._probing:
                raise NLUUnavailable(f"Rasa at {self.url} failed; another call probes it")
            self._probing = True
        try:
            return await self._attempts(text, probe)
        finally:
            if probe:
                self._probing = False

    async def _attempts(self, text: str, probe: bool) -> dict[str, Any]:
        error: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                await asyncio.sleep(_RETRY_PAUSE_SECONDS)
            try:
                result = await self._post(text)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                error = exc
                log.warning("Rasa parse failed (attempt %d): %r", attempt + 1, exc)
                if isinstance(exc, TimeoutError):
                    break  # a hung Rasa: asking again would only double the wait
                continue
            if self._tripped:
                log.info("Rasa at %s answers again, breaker closed", self.url)
            self._failures, self._tripped = 0, False
            return result
        self._failures += 1
        if probe or isinstance(error, TimeoutError) or self._failures >= self.breaker_failures:
            self._trip(error)
        raise NLUUnavailable(f"Rasa at {self.url} is unavailable: {error!r}") from error

    def _trip(self, error: Exception | None) -> None:
        self._open_until = time.monotonic() + self.breaker_seconds
        self._tripped = True  # half-open afterwards: one probe, whose failure re-opens it
        log.error("Rasa at %s unavailable (%r), breaker open for %ss", self.url, error,
                  self.breaker_seconds)

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
