"""Calls to Microsoft Graph within Outlook's limits.

One request at a time per mailbox (Outlook allows four concurrent; a sync needs only one).
A 429 is always followed: nothing is sent before its Retry-After has passed. 503 and 504, and a
dropped connection, are retried with exponential backoff and jitter. A 401 gets one fresh token.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from pipeline.errors import CursorExpired, SourceError

_MAX_ATTEMPTS = 10
_DEFAULT_RETRY_AFTER = 10.0
_EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})


@dataclass
class GraphLedger:
    """What a run sent: HTTP requests, throttled answers, seconds waited."""

    requests: int = 0
    throttled: int = 0
    waited: float = 0.0
    pages: dict[str, int] = field(default_factory=dict)


class GraphError(SourceError):
    """Graph answered with an error that waiting does not fix."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"Microsoft Graph answered {status} ({code}: {message})")
        self.status = status
        self.code = code


class Graph:
    """GETs against one Graph endpoint with a token that `token()` supplies (and renews)."""

    def __init__(
        self,
        base: str,
        token: Callable[[bool], str],
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.base = base.rstrip("/")
        self.token = token
        self.session = session or requests.Session()
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.ledger = GraphLedger()
        self._not_before = 0.0

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}/{path.lstrip('/')}"

    def _wait(self, seconds: float) -> None:
        self.ledger.waited += seconds
        self.sleep(seconds)

    def get(self, path: str, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The JSON of a GET; a URL Graph returned (nextLink, deltaLink) is used exactly.

        Raises CursorExpired when Graph says a delta token is no longer valid (410, or a
        sync-state code), GraphError for other errors.
        """
        fresh = False
        for attempt in range(_MAX_ATTEMPTS):
            pause = self._not_before - self.clock()
            if pause > 0:
                self._wait(pause)
            request_headers = {"Authorization": f"Bearer {self.token(fresh)}", **(headers or {})}
            self.ledger.requests += 1
            try:
                response = self.session.get(self.url(path), headers=request_headers, timeout=120)
            except requests.RequestException as exc:
                if attempt == _MAX_ATTEMPTS - 1:
                    raise SourceError(f"Microsoft Graph cannot be reached: {exc}") from None
                self._wait(min(60.0, 2.0**attempt) * (0.5 + self.rng.random() / 2))
                continue
            status = response.status_code
            if status == 200:
                return dict(response.json())
            code, message = _error(response)
            if status == 410 or code.lower() in _EXPIRED_CODES:
                raise CursorExpired(f"{code or status}: {message}")
            if status == 429:
                self.ledger.throttled += 1
                # Nothing, this request or another, goes out before Retry-After has passed.
                self._not_before = self.clock() + _retry_after(response)
                continue
            if status in (500, 502, 503, 504):
                self._wait(
                    max(
                        min(60.0, 2.0**attempt) * (0.5 + self.rng.random() / 2),
                        _retry_after(response, 0.0),
                    )
                )
                continue
            if status == 401 and not fresh:
                fresh = True
                continue
            raise GraphError(status, code, message)
        raise SourceError("Microsoft Graph kept throttling; try again later")


def _retry_after(response: requests.Response, default: float = _DEFAULT_RETRY_AFTER) -> float:
    try:
        return max(0.0, float(response.headers.get("Retry-After", default)))
    except ValueError:
        return default


def _error(response: requests.Response) -> tuple[str, str]:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return "", response.text[:200]
    if not isinstance(error, dict):
        return "", str(error)[:200]
    return str(error.get("code", "")), str(error.get("message", ""))[:200]
