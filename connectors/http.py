"""HTTP calls to a back end with timeouts, retries with jittered backoff, idempotency keys and a breaker.

:class:`HttpClient` is the one way the connectors speak HTTP (``requests``). A request that fails
for a reason worth retrying (no connection, a timeout, 5xx, 429) is retried ``retries`` times after
an exponentially growing, randomly jittered pause; a 4xx is final. A request with an idempotency key
sends the same ``Idempotency-Key`` header on every retry, so a back end that did the work but whose
answer was lost makes one order of all the tries. Every failure counts in the :class:`CircuitBreaker`;
while it is open, calls fail at once with :class:`BackendUnavailable`, so a dead back end never
makes anything wait.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from .breaker import CircuitBreaker
from .errors import BackendRefused, BackendUnavailable

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


def backoff_delay(attempt: int, base_s: float, cap_s: float, rng: random.Random) -> float:
    """The pause before retry ``attempt`` (0-based): "full jitter", uniform in [0, min(cap, base·2^attempt)]."""
    return rng.uniform(0.0, min(cap_s, base_s * (2 ** attempt)))


class HttpClient:
    def __init__(
        self,
        base_url: str,
        *,
        name: str = "backend",
        timeout_s: float = 5.0,
        retries: int = 3,
        backoff_s: float = 0.2,
        backoff_cap_s: float = 5.0,
        breaker: CircuitBreaker | None = None,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.backoff_cap_s = backoff_cap_s
        self.breaker = breaker or CircuitBreaker()
        self.session = session or requests.Session()
        for key, value in (headers or {}).items():
            if "\r" in value or "\n" in value:
                raise ValueError(f"header {key!r} holds a line break")
            self.session.headers[key] = value
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()
        self._lock = threading.Lock()  # the breaker's state, shared by the threads that call

    def close(self) -> None:
        self.session.close()

    def _allow(self) -> None:
        with self._lock:
            now = self._clock()
            if not self.breaker.allow(now):
                raise BackendUnavailable(f"{self.name}: not tried, the back end failed {self.breaker.failures} times "
                                         f"in a row (next try in {self.breaker.retry_in(now):.0f} s)")

    def _failed(self) -> None:
        with self._lock:
            self.breaker.failed(self._clock())

    def _succeeded(self) -> None:
        with self._lock:
            self.breaker.succeeded()

    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, str] | None = None,
                idempotency_key: str | None = None) -> Any:
        """Send, retrying what is worth retrying; returns the decoded JSON body (None when empty)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        url = f"{self.base_url}{path}"
        last = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(backoff_delay(attempt - 1, self.backoff_s, self.backoff_cap_s, self._rng))
            self._allow()
            try:
                response = self.session.request(method, url, json=json, params=params, headers=headers,
                                                timeout=self.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                self._failed()
                logger.debug("%s %s %s: %s (try %d)", self.name, method, path, last, attempt + 1)
                continue
            if response.status_code in RETRY_STATUSES:
                last = f"HTTP {response.status_code}"
                self._failed()
                logger.debug("%s %s %s: %s (try %d)", self.name, method, path, last, attempt + 1)
                continue
            self._succeeded()  # the back end answered: it is up, even when it says no
            if response.status_code >= 400:
                raise BackendRefused(response.status_code, response.text[:300].strip() or response.reason)
            if not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise BackendRefused(response.status_code, "the answer is not JSON") from None
        raise BackendUnavailable(f"{self.name}: {method} {path} failed {self.retries + 1} times; last: {last}")
