"""Calls to Google's APIs within quota: pacing, batches, and retries the library does not do.

google-api-python-client sends the requests; this module decides when. A token bucket paces
quota units at 90% of the account's per-minute quota, with a burst of the other 10%, so that no
sliding minute ever spends more than the quota. Batches hold at most 50 calls (100 is the hard
cap, and Google answers 429 "too many concurrent requests" well before it), one in flight.
Errors that mean "later" (429, 403 rateLimitExceeded/userRateLimitExceeded, 5xx, a dropped
connection) are retried with truncated exponential backoff and jitter (1 s doubling to 64 s),
never sooner than a Retry-After says; in a batch only the failed calls are sent again. The
library's own retry ignores Retry-After and never retries batch calls, so it is off.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httplib2
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest, HttpRequest

from pipeline.errors import SourceError

#: Quota units of each call (Gmail's published costs).
UNITS = {"messages.list": 5, "messages.get": 5, "history.list": 2, "getProfile": 1, "sendAs": 1}
BATCH_SIZE = 50
_MAX_ATTEMPTS = 12
_RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})


class Pacer:
    """A token bucket of quota units: `rate` a second, holding at most `burst`."""

    def __init__(
        self,
        units_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = units_per_minute * 0.9 / 60.0
        self.burst = max(units_per_minute * 0.1, float(BATCH_SIZE * UNITS["messages.get"]))
        self.clock = clock
        self.sleep = sleep
        self.tokens = self.burst
        self.stamp = clock()

    def take(self, units: int) -> None:
        """Wait until `units` may be spent, then spend them."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < units:
            wait = (units - self.tokens) / self.rate
            self.sleep(wait)
            self.stamp = self.clock()
            self.tokens = units
        self.tokens -= units


@dataclass
class Ledger:
    """What a run spent: quota units, HTTP requests, calls retried."""

    units: int = 0
    requests: int = 0
    retries: int = 0
    waited: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)


def retry_after(exc: HttpError) -> float | None:
    """The seconds a response's Retry-After asks for (None when it names none)."""
    value = exc.resp.get("retry-after") if exc.resp is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def is_transient(exc: HttpError) -> bool:
    """Whether an error means "try again later"."""
    status = int(exc.resp.status) if exc.resp is not None else 0
    if status == 429 or status >= 500:
        return True
    if status == 403:
        return bool(_reasons(exc) & _RATE_LIMIT_REASONS)
    return False


def error_reasons(exc: HttpError) -> set[str]:
    """The `reason` values of a Google error body (errors[].reason and details[].reason)."""
    return _reasons(exc)


def _reasons(exc: HttpError) -> set[str]:
    try:
        body = json.loads(exc.content.decode("utf-8", "replace"))
    except (ValueError, AttributeError):
        return set()
    error = body.get("error", {}) if isinstance(body, dict) else {}
    if not isinstance(error, dict):
        return set()
    found = {str(e.get("reason")) for e in error.get("errors", []) if isinstance(e, dict)}
    found |= {str(d.get("reason")) for d in error.get("details", []) if isinstance(d, dict)}
    if error.get("status"):
        found.add(str(error["status"]))
    return found - {"None"}


class Caller:
    """Executes requests for one account: paced, counted, retried."""

    def __init__(
        self,
        units_per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.pacer = Pacer(units_per_minute, clock=clock, sleep=sleep)
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.ledger = Ledger()

    def _backoff(self, attempt: int, asked: float | None) -> None:
        """Wait 1 s doubling to 64 s, with jitter, and never less than a Retry-After."""
        delay = max(min(64.0, 2.0**attempt) * (0.5 + self.rng.random() / 2), asked or 0.0)
        self.ledger.waited += delay
        self.sleep(delay)

    def call(self, request: HttpRequest, method: str) -> Any:
        """One request, paced and retried; an error that is not transient is raised."""
        for attempt in range(_MAX_ATTEMPTS):
            self.pacer.take(UNITS.get(method, 1))
            self.ledger.units += UNITS.get(method, 1)
            self.ledger.requests += 1
            self.ledger.calls[method] = self.ledger.calls.get(method, 0) + 1
            try:
                return request.execute(num_retries=0)
            except HttpError as exc:
                if not is_transient(exc) or attempt == _MAX_ATTEMPTS - 1:
                    raise
                self.ledger.retries += 1
                self._backoff(attempt, retry_after(exc))
            except (TimeoutError, OSError, httplib2.HttpLib2Error) as exc:
                if attempt == _MAX_ATTEMPTS - 1:
                    raise SourceError(f"Google cannot be reached: {exc}") from None
                self.ledger.retries += 1
                self._backoff(attempt, None)
        raise AssertionError("unreachable")

    def batch(
        self,
        requests: Iterable[tuple[str, Callable[[], HttpRequest]]],
        method: str,
        batch_uri: str,
    ) -> dict[str, Any]:
        """Responses by key for (key, request maker) pairs, in batches of BATCH_SIZE.

        A call answered 404 is left out (the message is gone); failed transient calls are sent
        again, alone in their own smaller batch; any other error is raised.
        """
        results: dict[str, Any] = {}
        pending = list(requests)
        while pending:
            chunk, pending = pending[:BATCH_SIZE], pending[BATCH_SIZE:]
            attempt = 0
            while chunk:
                failed, asked = self._send(chunk, method, batch_uri, results)
                if not failed:
                    break
                if attempt == _MAX_ATTEMPTS - 1:
                    raise SourceError(f"Google kept refusing {len(failed)} calls; try later")
                self.ledger.retries += len(failed)
                self._backoff(attempt, asked)
                attempt += 1
                chunk = failed
        return results

    def _send(
        self,
        chunk: list[tuple[str, Callable[[], HttpRequest]]],
        method: str,
        batch_uri: str,
        results: dict[str, Any],
    ) -> tuple[list[tuple[str, Callable[[], HttpRequest]]], float | None]:
        """One batch request; returns the calls to send again and the longest Retry-After."""
        units = UNITS.get(method, 1) * len(chunk)
        self.pacer.take(units)
        self.ledger.units += units
        self.ledger.requests += 1
        self.ledger.calls[method] = self.ledger.calls.get(method, 0) + len(chunk)
        failed: list[tuple[str, Callable[[], HttpRequest]]] = []
        asked: list[float] = []
        errors: list[HttpError] = []
        makers = dict(chunk)

        def done(request_id: str, response: Any, exception: Exception | None) -> None:
            if exception is None:
                results[request_id] = response
            elif isinstance(exception, HttpError) and int(exception.resp.status) == 404:
                return
            elif isinstance(exception, HttpError) and is_transient(exception):
                failed.append((request_id, makers[request_id]))
                seconds = retry_after(exception)
                if seconds is not None:
                    asked.append(seconds)
            elif isinstance(exception, HttpError):
                errors.append(exception)
            else:
                raise exception

        batch = BatchHttpRequest(callback=done, batch_uri=batch_uri)
        for key, make in chunk:
            batch.add(make(), request_id=key)
        try:
            batch.execute()
        except HttpError as exc:
            if not is_transient(exc):
                raise
            seconds = retry_after(exc)
            return chunk, seconds
        except (TimeoutError, OSError, httplib2.HttpLib2Error):
            return chunk, None
        if errors:
            raise errors[0]
        return failed, max(asked) if asked else None
