"""A fake Google API server for offline tests, speaking the real wire format.

The real client libraries (google-api-python-client, google-auth) work against it unchanged::

    fake = FakeGoogle().start()            # or: with FakeGoogle() as fake:
    creds = Credentials(token=None, refresh_token="r", token_uri=fake.root + "token",
                        client_id="c", client_secret="s", scopes=[...])
    gmail = build("gmail", "v1", credentials=creds, static_discovery=True,
                  cache_discovery=False, client_options={"api_endpoint": fake.root})
    people = build("people", "v1", ..., client_options={"api_endpoint": fake.root})
    calendar = build("calendar", "v3", ...,
                     client_options={"api_endpoint": fake.root + "calendar/v3/"})
    batch = BatchHttpRequest(callback=cb, batch_uri=fake.root + "batch/gmail/v1")

``api_endpoint`` replaces rootUrl + servicePath of the discovery document: Gmail's method paths
carry ``gmail/v1/...`` and People's ``v1/...``, so their endpoint is the bare root, while
Calendar's paths do not carry ``calendar/v3/``. ``service.new_batch_http_request()`` ignores
``api_endpoint`` (it joins the document's rootUrl and batchPath), hence the explicit batch_uri.

Everything is stdlib: a ThreadingHTTPServer on 127.0.0.1 (port 0) in a daemon thread, with all
state under one lock. Every API call needs ``Authorization: Bearer <a token this fake issued>``;
the first call of fresh credentials therefore refreshes them against ``POST /token``.

Served paths:

- ``POST /token``: the OAuth refresh_token grant (form-encoded); never faulted.
- ``GET /gmail/v1/users/{userId}/profile``, ``.../messages``, ``.../messages/{id}``,
  ``.../history``, ``.../settings/sendAs``.
- ``POST /batch/gmail/v1`` (also ``/batch/people/v1`` and ``/batch/calendar/v3``):
  multipart/mixed batches of the calls above, at most ``batch_limit`` (100) parts.
- ``GET /v1/people/me/connections``, ``GET /v1/otherContacts``.
- ``GET /calendar/v3/calendars/{calendarId}/events``.

The ledger (``units_used``, ``calls``, ``requests``, ``spends``, ``max_concurrent``,
``max_batch``) lets a test check what a client spent, and ``fail_next``/``fault_rate``/
``quota_per_minute`` make the server refuse calls the way Google does.
"""

from __future__ import annotations

import base64
import copy
import json
import random
import re
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.message import Message
from email.parser import Parser
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.loopback import LoopbackServer

__all__ = ["UNITS", "FakeGoogle", "FieldTree", "apply_fields", "parse_fields"]

JSON = dict[str, Any]

#: Quota units charged per call, by method name (the keys of ``FakeGoogle.calls``).
UNITS: dict[str, int] = {
    "getProfile": 1,
    "messages.list": 5,
    "messages.get": 5,
    "history.list": 2,
    "settings.sendAs.list": 1,
    "people.connections.list": 1,
    "otherContacts.list": 1,
    "events.list": 1,
}

DEFAULT_SCOPES: tuple[str, ...] = (
    "https://www.googleapis.com/auth/gmail.metadata",
    "https://www.googleapis.com/auth/contacts.readonly",
    "https://www.googleapis.com/auth/contacts.other.readonly",
    "https://www.googleapis.com/auth/calendar.readonly",
)

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}

#: (reason, message) of the errors that fail_next / fault_rate inject, by status.
_FAULTS = {
    403: ("userRateLimitExceeded", "User Rate Limit Exceeded"),
    429: ("rateLimitExceeded", "Resource has been exhausted (e.g. check quota)."),
    500: ("backendError", "Internal error encountered."),
    502: ("backendError", "Bad Gateway"),
    503: ("backendError", "The service is currently unavailable."),
    504: ("backendError", "Deadline exceeded."),
}

_NOT_FOUND = "Requested entity was not found."
_PEOPLE_EXPIRED = "Sync token is expired. Clear local cache and retry call without the sync token."
_CALENDAR_EXPIRED = "Sync token is no longer valid, a full sync is required."
_AUTH_MESSAGE = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)

#: Fields a People person can be asked for (connections personFields).
_PERSON_FIELDS = frozenset(
    {
        "addresses", "ageRanges", "biographies", "birthdays", "calendarUrls", "clientData",
        "coverPhotos", "emailAddresses", "events", "externalIds", "genders", "imClients",
        "interests", "locales", "locations", "memberships", "metadata", "miscKeywords", "names",
        "nicknames", "occupations", "organizations", "phoneNumbers", "photos", "relations",
        "sipAddresses", "skills", "urls", "userDefined",
    }
)  # fmt: skip
#: Fields an other contact can be asked for (otherContacts readMask).
_OTHER_FIELDS = frozenset({"emailAddresses", "metadata", "names", "phoneNumbers", "photos"})

#: Gmail search words for system labels.
_SYSTEM_LABELS = {
    "inbox": "INBOX",
    "spam": "SPAM",
    "trash": "TRASH",
    "sent": "SENT",
    "draft": "DRAFT",
    "drafts": "DRAFT",
    "starred": "STARRED",
    "important": "IMPORTANT",
    "unread": "UNREAD",
    "chats": "CHAT",
}
_HISTORY_TYPES = {
    "messageAdded": "messagesAdded",
    "messageDeleted": "messagesDeleted",
    "labelAdded": "labelsAdded",
    "labelRemoved": "labelsRemoved",
}
_BATCH_PATHS = ("/batch/gmail/v1", "/batch/people/v1", "/batch/calendar/v3")
#: Calendar parameters that may not come with a syncToken.
_NOT_WITH_SYNC = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)


def _pacific() -> tzinfo:
    """Gmail reads YYYY/MM/DD search dates as midnight Pacific time."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/Los_Angeles")
    except Exception:  # no tz database: PST without daylight saving
        return timezone(timedelta(hours=-8))


_PACIFIC = _pacific()


# --------------------------------------------------------------------------- replies


@dataclass
class Reply:
    """One HTTP answer: status, body bytes and extra headers."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Reply:
        """A JSON answer, typed the way Google types it."""
        merged = {"Content-Type": "application/json; charset=UTF-8"}
        merged.update(headers or {})
        return cls(status, json.dumps(payload, indent=1).encode("utf-8"), merged)


class ApiError(Exception):
    """Raised by a handler to answer with an error instead of a result."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def google_error(
    code: int,
    message: str,
    *,
    reason: str | None = None,
    domain: str = "global",
    status: str | None = "",
    details: list[JSON] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """Google's JSON error body: ``{"error": {code, message, errors?, status?, details?}}``.

    ``status`` "" means the canonical name for ``code``; None leaves it out (Calendar v3).
    ``reason`` None leaves out the ``errors`` array (People v1).
    """
    error: JSON = {"code": code, "message": message}
    if reason is not None:
        error["errors"] = [{"message": message, "domain": domain, "reason": reason}]
    if status == "":
        status = _STATUS_NAMES.get(code)
    if status:
        error["status"] = status
    if details:
        error["details"] = details
    return Reply.json(code, {"error": error}, headers)


def _bad_request(message: str, reason: str = "invalidArgument") -> ApiError:
    return ApiError(google_error(400, message, reason=reason))


def _not_found(message: str = _NOT_FOUND) -> ApiError:
    return ApiError(google_error(404, message, reason="notFound"))


# --------------------------------------------------------------------------- field masks

#: A parsed ``fields`` selection: name -> sub-selection, None selecting the whole value.
FieldTree = dict[str, "FieldTree | None"]

_FIELD_NAME = re.compile(r"[A-Za-z0-9_*@$.-]+")


def parse_fields(spec: str) -> FieldTree:
    """Parse a partial-response ``fields`` value such as ``id,payload/headers,items(id,status)``.

    Raises ValueError for a malformed selection.
    """
    text = "".join(spec.split())
    tree, pos = _parse_field_list(text, 0)
    if pos != len(text):
        raise ValueError(f"Invalid field selection {spec}")
    return tree


def _parse_field_list(text: str, pos: int) -> tuple[FieldTree, int]:
    tree: FieldTree = {}
    while True:
        path: list[str] = []
        while True:
            match = _FIELD_NAME.match(text, pos)
            if match is None:
                raise ValueError(f"Invalid field selection {text}")
            path.append(match.group())
            pos = match.end()
            if pos < len(text) and text[pos] == "/":
                pos += 1
                continue
            break
        sub: FieldTree | None = None
        if pos < len(text) and text[pos] == "(":
            sub, pos = _parse_field_list(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise ValueError(f"Invalid field selection {text}")
            pos += 1
        _merge_field(tree, path, sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return tree, pos


def _merge_field(tree: FieldTree, path: list[str], sub: FieldTree | None) -> None:
    node = tree
    for name in path[:-1]:
        if name in node and node[name] is None:
            return  # the whole value is already selected
        child = node.setdefault(name, {})
        assert child is not None
        node = child
    last = path[-1]
    existing = node.get(last, {})
    if sub is None or (last in node and existing is None):
        node[last] = None
    elif last in node and existing is not None:
        for key, value in sub.items():
            _merge_field(existing, [key], value)
    else:
        node[last] = sub


def apply_fields(value: Any, tree: FieldTree | None) -> Any:
    """Keep only the selected parts of a JSON value (a list applies the selection to each item)."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_fields(item, tree) for item in value]
    if isinstance(value, dict):
        kept: JSON = {}
        for key, item in value.items():
            if key in tree:
                kept[key] = apply_fields(item, tree[key])
            elif "*" in tree:
                kept[key] = apply_fields(item, tree["*"])
        return kept
    return value


# --------------------------------------------------------------------------- helpers


def _encode_token(kind: str, **values: Any) -> str:
    raw = json.dumps({"k": kind, **values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str, kind: str) -> JSON | None:
    """The values of a token this fake made for ``kind``; None when it is not one."""
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(values, dict) or values.get("k") != kind:
        return None
    return values


def _utc_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _rfc3339(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _event_time(part: Any) -> datetime | None:
    """The instant of an event's start or end ({dateTime,timeZone} or {date})."""
    if not isinstance(part, Mapping):
        return None
    try:
        if "dateTime" in part:
            moment = datetime.fromisoformat(str(part["dateTime"]))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if "date" in part:
            return datetime.fromisoformat(str(part["date"])).replace(tzinfo=UTC)
    except ValueError:
        return None
    return None


class _Query:
    """Typed access to a request's query parameters (repeated ones arrive as key=a&key=b)."""

    def __init__(self, raw: Mapping[str, list[str]]) -> None:
        self.raw = raw

    def get(self, name: str) -> str | None:
        values = self.raw.get(name)
        return values[-1] if values else None

    def all(self, name: str) -> list[str]:
        return list(self.raw.get(name, []))

    def int(self, name: str, default: int, low: int, high: int) -> int:
        """An integer parameter; below ``low`` is an error, above ``high`` is clamped."""
        text = self.get(name)
        if text is None or text == "":
            return default
        try:
            value = int(text)
        except ValueError:
            raise _bad_request(f"Invalid value '{text}' for {name}.") from None
        if value < low:
            raise _bad_request(f"Invalid value '{text}' for {name}.")
        return min(value, high)

    def bool(self, name: str, default: bool = False) -> bool:
        text = self.get(name)
        if text is None or text == "":
            return default
        if text.lower() not in ("true", "false"):
            raise _bad_request(f"Invalid value '{text}' for {name}.")
        return text.lower() == "true"


# --------------------------------------------------------------------------- state records


@dataclass
class _Message:
    id: str
    thread_id: str
    headers: list[tuple[str, str]]
    labels: list[str]
    internal_ms: int
    history_id: int
    seq: int
    size: int
    #: Fields a damaged answer carries in place of the real ones (see damage_message).
    damage: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Person:
    resource_name: str
    other: bool
    names: list[JSON]
    emails: list[str]
    phones: list[str]
    organizations: list[JSON]
    seq: int
    deleted: bool = False

    @property
    def etag(self) -> str:
        tag = base64.urlsafe_b64encode(f"{self.resource_name}:{self.seq}".encode()).decode()
        return "%" + tag.rstrip("=")


@dataclass
class _Event:
    calendar_id: str
    data: JSON
    seq: int
    created: int
    deleted: bool = False


@dataclass
class _Fault:
    status: int
    retry_after: str | None
    method: str | None


Handler = Callable[..., JSON]


# --------------------------------------------------------------------------- HTTP plumbing


# --------------------------------------------------------------------------- the fake


#: The authorization code the token endpoint exchanges (the installed-app flow's paste step).
AUTHORIZATION_CODE = "4/fake-authorization-code"


class FakeGoogle(LoopbackServer):
    """An in-process Google (OAuth token endpoint, Gmail, People, Calendar) for tests.

    State setters (``add_message``, ``add_person``, ``add_event``, ...) and the ledger attributes
    may be used from the test thread while the server runs; everything is under one lock.
    Ledger attributes: ``units_used``, ``calls`` (Counter by method name, faulted calls
    included), ``requests`` (API HTTP requests; a batch counts once, ``/token`` not at all),
    ``token_refreshes``, ``spends`` ((monotonic time, units, method) per charged call),
    ``faults`` (Counter of injected error statuses), ``quota_refusals``, ``max_concurrent``
    (HTTP requests in flight at once, ``/token`` included), ``max_batch`` and ``batch_sizes``
    (parts per batch received, refused ones included) and ``crashes`` (tracebacks of fake bugs,
    answered 500).
    """

    server_version = "FakeGoogle/1.0"
    scheme = "http"

    def __init__(
        self,
        owner: str = "me@example.com",
        *,
        send_as: Sequence[str] = (),
        refresh_token: str | None = None,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        batch_limit: int = 100,
        quota_per_minute: int | None = None,
        delay: float = 0.0,
        token_lifetime: int = 3600,
        first_history_id: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure an empty account.

        Args:
            owner: the mailbox address (also the primary calendar's id).
            send_as: extra send-as aliases besides ``owner``.
            refresh_token: the only refresh token the token endpoint accepts (None: any).
            scopes: the scopes reported when a refresh asks for none.
            batch_limit: most parts a batch may hold; more gets the whole batch a 400.
            quota_per_minute: units allowed over any sliding 60 s (None: unlimited).
            delay: seconds every HTTP request takes (to make concurrency observable).
            token_lifetime: ``expires_in`` of issued access tokens.
            first_history_id: the mailbox historyId before any change.
            clock: the time source of ``spends`` and of the quota window.
        """
        self.owner = owner
        self.send_as: list[str] = list(send_as)
        self.refresh_token = refresh_token
        self.scopes = tuple(scopes)
        self.batch_limit = batch_limit
        self.quota_per_minute = quota_per_minute
        self.delay = delay
        self.token_lifetime = token_lifetime
        self.clock = clock

        super().__init__()
        self._tokens: set[str] = set()

        # Gmail
        self._messages: dict[str, _Message] = {}
        self._message_seq = 0
        self._history_id = first_history_id
        self._history_floor = first_history_id
        self._history: list[JSON] = []
        # People
        self._people: dict[str, _Person] = {}
        self._people_seq = 0
        self._people_floor = 0
        # Calendar
        self._events: dict[tuple[str, str], _Event] = {}
        self._calendars: set[str] = {owner}
        self._calendar_seq = 0
        self._calendar_floor = 0
        # Faults
        self._fail_queue: deque[_Fault] = deque()
        self._fault_p = 0.0
        self._fault_rng = random.Random(0)
        self._fault_statuses: tuple[int, ...] = (429, 503)
        self._fault_retry_after: str | None = "0"
        self._fault_method: str | None = None
        self._quota_window: deque[tuple[float, int]] = deque()
        self._in_flight = 0

        self.reset_ledger()
        self._routes: list[tuple[str, re.Pattern[str], str, Handler]] = [
            ("GET", re.compile(r"/gmail/v1/users/([^/]+)/profile"), "getProfile", self._profile),
            ("GET", re.compile(r"/gmail/v1/users/([^/]+)/messages"), "messages.list", self._list),
            ("GET", re.compile(r"/gmail/v1/users/([^/]+)/messages/([^/]+)"), "messages.get",
             self._get),
            ("GET", re.compile(r"/gmail/v1/users/([^/]+)/history"), "history.list",
             self._history_list),
            ("GET", re.compile(r"/gmail/v1/users/([^/]+)/settings/sendAs"),
             "settings.sendAs.list", self._send_as_list),
            ("GET", re.compile(r"/v1/(people/[^/]+)/connections"), "people.connections.list",
             self._connections_list),
            ("GET", re.compile(r"/v1/otherContacts"), "otherContacts.list",
             self._other_contacts_list),
            ("GET", re.compile(r"/calendar/v3/calendars/([^/]+)/events"), "events.list",
             self._events_list),
        ]  # fmt: skip

    @property
    def calendar_root(self) -> str:
        """``http://127.0.0.1:PORT/calendar/v3/``: api_endpoint for Calendar."""
        return self.root + "calendar/v3/"

    @property
    def token_uri(self) -> str:
        """``http://127.0.0.1:PORT/token``: token_uri for Credentials."""
        return self.root + "token"

    @property
    def batch_uri(self) -> str:
        """``http://127.0.0.1:PORT/batch/gmail/v1``: batch_uri for BatchHttpRequest."""
        return self.root + "batch/gmail/v1"

    # ------------------------------------------------------------------ ledger

    def reset_ledger(self) -> None:
        """Zero every counter (not the state, tokens or faults)."""
        with self._lock:
            self.units_used = 0
            self.calls: Counter[str] = Counter()
            self.requests = 0
            self.token_refreshes = 0
            self.codes_exchanged = 0
            self.spends: list[tuple[float, int, str]] = []
            self.faults: Counter[int] = Counter()
            self.quota_refusals = 0
            self.max_concurrent = 0
            self.max_batch = 0
            self.batch_sizes: list[int] = []
            self.crashes: list[str] = []

    def peak_units(self, window: float = 60.0) -> int:
        """The most units spent within any ``window`` seconds (by ``clock``)."""
        with self._lock:
            spends = sorted(self.spends)
        best = total = 0
        start = 0
        for moment, units, _method in spends:
            total += units
            while spends[start][0] <= moment - window:
                total -= spends[start][1]
                start += 1
            best = max(best, total)
        return best

    # ------------------------------------------------------------------ faults

    def fail_next(
        self,
        count: int,
        status: int = 429,
        retry_after: str | None = "1",
        *,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` API calls (batch parts included) with ``status``.

        ``retry_after`` None sends no Retry-After; ``method`` (e.g. "messages.get") limits the
        faults to that method's calls.
        """
        with self._lock:
            for _ in range(count):
                self._fail_queue.append(_Fault(status, retry_after, method))

    def fault_rate(
        self,
        p: float,
        seed: int = 0,
        statuses: Sequence[int] = (429, 503),
        retry_after: str | None = "0",
        *,
        method: str | None = None,
    ) -> None:
        """Answer a deterministic fraction ``p`` of API calls (batch parts included) with errors.

        Draws come from ``random.Random(seed)`` in the order calls arrive; ``p`` 0 turns it off.
        """
        with self._lock:
            self._fault_p = p
            self._fault_rng = random.Random(seed)
            self._fault_statuses = tuple(statuses)
            self._fault_retry_after = retry_after
            self._fault_method = method

    def revoke_tokens(self) -> None:
        """Invalidate every issued access token (the next call gets 401 and must refresh)."""
        with self._lock:
            self._tokens.clear()

    # ------------------------------------------------------------------ Gmail state

    @property
    def history_id(self) -> int:
        """The mailbox's current historyId."""
        with self._lock:
            return self._history_id

    @property
    def history_floor(self) -> int:
        """The oldest startHistoryId history.list accepts; older ones get 404."""
        with self._lock:
            return self._history_floor

    @history_floor.setter
    def history_floor(self, value: int) -> None:
        with self._lock:
            self._history_floor = value

    def expire_history(self) -> None:
        """Make every historyId handed out so far too old: history.list answers them 404."""
        with self._lock:
            self._history_id += 1
            self._history_floor = self._history_id

    def add_message(
        self,
        headers: Sequence[tuple[str, str]],
        labels: Sequence[str],
        internal_date: datetime,
        *,
        thread_id: str | None = None,
        message_id: str | None = None,
    ) -> str:
        """Deliver a message (naive dates are UTC); returns its id and records messagesAdded."""
        with self._lock:
            self._message_seq += 1
            mid = message_id or f"{0x18F0000000000000 + self._message_seq:x}"
            if mid in self._messages:
                raise ValueError(f"message {mid} exists")
            self._history_id += 1
            size = sum(len(name) + len(value) + 4 for name, value in headers) + 2
            message = _Message(
                id=mid,
                thread_id=thread_id or mid,
                headers=[(str(name), str(value)) for name, value in headers],
                labels=list(labels),
                internal_ms=_utc_ms(internal_date),
                history_id=self._history_id,
                seq=self._message_seq,
                size=size,
            )
            self._messages[mid] = message
            self._record("messagesAdded", {"message": self._message_ref(message, True)}, message)
            return mid

    def damage_message(self, message_id: str, **fields: Any) -> None:
        """Answer messages.get for this message with these fields in place of the real ones
        (None leaves a field out): a record the client cannot read."""
        with self._lock:
            self._messages[message_id].damage.update(fields)

    def delete_message(self, message_id: str) -> None:
        """Delete a message for good; records messagesDeleted."""
        with self._lock:
            message = self._messages.pop(message_id)
            self._history_id += 1
            self._record("messagesDeleted", {"message": self._message_ref(message, True)}, message)

    def modify_labels(
        self, message_id: str, add: Sequence[str] = (), remove: Sequence[str] = ()
    ) -> None:
        """Add and remove labels; records labelsAdded / labelsRemoved."""
        with self._lock:
            message = self._messages[message_id]
            added = [label for label in add if label not in message.labels]
            removed = [label for label in remove if label in message.labels]
            if added:
                self._history_id += 1
                message.labels.extend(added)
                message.history_id = self._history_id
                ref = {"message": self._message_ref(message, True), "labelIds": added}
                self._record("labelsAdded", ref, message)
            if removed:
                self._history_id += 1
                message.labels = [label for label in message.labels if label not in removed]
                message.history_id = self._history_id
                ref = {"message": self._message_ref(message, True), "labelIds": removed}
                self._record("labelsRemoved", ref, message)

    def message_ids(self) -> list[str]:
        """Ids of the messages present, newest first."""
        with self._lock:
            ordered = sorted(self._messages.values(), key=lambda m: (-m.internal_ms, -m.seq))
            return [message.id for message in ordered]

    @staticmethod
    def _message_ref(message: _Message, labels: bool = False) -> JSON:
        ref: JSON = {"id": message.id, "threadId": message.thread_id}
        if labels and message.labels:
            ref["labelIds"] = list(message.labels)
        return ref

    def _record(self, kind: str, entry: JSON, message: _Message) -> None:
        self._history.append(
            {"id": self._history_id, "messages": [self._message_ref(message)], kind: [entry]}
        )

    # ------------------------------------------------------------------ People state

    def add_person(
        self,
        resource_name: str,
        names: Sequence[str | Mapping[str, str]],
        emails: Sequence[str],
        phones: Sequence[str] = (),
        organizations: Sequence[str | tuple[str, str] | Mapping[str, str]] = (),
        other: bool = False,
    ) -> str:
        """Add or replace a contact (``other``: an "other contact"); returns its resourceName.

        A name is a display name (split into given/family at the last space) or a dict of
        Person.names fields; an organization is a name, a (name, title) pair or a dict.
        """
        prefix = "otherContacts/" if other else "people/"
        if not resource_name.startswith(prefix):
            raise ValueError(f"{resource_name!r} should start with {prefix!r}")
        name_list = [names] if isinstance(names, str | Mapping) else list(names)
        email_list = [emails] if isinstance(emails, str) else list(emails)
        phone_list = [phones] if isinstance(phones, str) else list(phones)
        org_list = [organizations] if isinstance(organizations, str) else list(organizations)
        with self._lock:
            self._people_seq += 1
            self._people[resource_name] = _Person(
                resource_name=resource_name,
                other=other,
                names=[_person_name(name) for name in name_list],
                emails=[str(email) for email in email_list],
                phones=[str(phone) for phone in phone_list],
                organizations=[_organization(org) for org in org_list],
                seq=self._people_seq,
            )
        return resource_name

    def delete_person(self, resource_name: str) -> None:
        """Delete a contact: incremental syncs report it as metadata.deleted."""
        with self._lock:
            person = self._people[resource_name]
            self._people_seq += 1
            person.deleted = True
            person.seq = self._people_seq

    def expire_people_sync(self) -> None:
        """Expire every People sync token handed out so far (400 EXPIRED_SYNC_TOKEN)."""
        with self._lock:
            self._people_seq += 1
            self._people_floor = self._people_seq

    # ------------------------------------------------------------------ Calendar state

    def add_event(self, event_json: Mapping[str, Any], calendar_id: str = "primary") -> str:
        """Add or replace an event (an already expanded single instance); returns its id.

        Missing kind, etag, status, iCalUID and updated are filled in.
        """
        data: JSON = copy.deepcopy(dict(event_json))
        with self._lock:
            calendar = self._calendar_key(calendar_id)
            self._calendars.add(calendar)
            self._calendar_seq += 1
            event_id = str(data.setdefault("id", f"fakeevent{self._calendar_seq}"))
            data.setdefault("kind", "calendar#event")
            data.setdefault("status", "confirmed")
            data.setdefault("iCalUID", f"{event_id}@google.com")
            data.setdefault("updated", _rfc3339(datetime.now(UTC)))
            data["etag"] = f'"{3_400_000_000_000_000 + self._calendar_seq}"'
            old = self._events.get((calendar, event_id))
            created = old.created if old else self._calendar_seq
            self._events[(calendar, event_id)] = _Event(calendar, data, self._calendar_seq, created)
            return event_id

    def cancel_event(self, event_id: str, calendar_id: str = "primary") -> None:
        """Delete an event: it comes back as {id, status: "cancelled"} (showDeleted, syncs)."""
        with self._lock:
            event = self._events[(self._calendar_key(calendar_id), event_id)]
            self._calendar_seq += 1
            event.deleted = True
            event.seq = self._calendar_seq
            event.data["status"] = "cancelled"
            event.data["etag"] = f'"{3_400_000_000_000_000 + self._calendar_seq}"'
            event.data["updated"] = _rfc3339(datetime.now(UTC))

    def expire_calendar_sync(self) -> None:
        """Expire every Calendar sync token handed out so far (410 fullSyncRequired)."""
        with self._lock:
            self._calendar_seq += 1
            self._calendar_floor = self._calendar_seq

    def _calendar_key(self, calendar_id: str) -> str:
        return self.owner if calendar_id == "primary" else calendar_id

    # ------------------------------------------------------------------ HTTP entry

    def _http(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one HTTP request (called from the server's handler threads)."""
        with self._lock:
            self._in_flight += 1
            self.max_concurrent = max(self.max_concurrent, self._in_flight)
        try:
            if self.delay > 0:
                time.sleep(self.delay)
            path = urlsplit(target).path
            if path == "/token":
                return self._token(verb, body)
            with self._lock:
                self.requests += 1
            if path.startswith("/batch"):
                return self._batch(verb, path, headers, body)
            return self._call(verb, target, headers)
        except Exception:
            trace = traceback.format_exc()
            with self._lock:
                self.crashes.append(trace)
            return google_error(500, f"FakeGoogle crashed: {trace}", reason="backendError")
        finally:
            with self._lock:
                self._in_flight -= 1

    def _token(self, verb: str, body: bytes) -> Reply:
        """The OAuth 2.0 token endpoint: the refresh_token grant, and the authorization_code
        grant of the installed-app flow for the code `AUTHORIZATION_CODE`."""
        if verb != "POST":
            return Reply.json(405, {"error": "invalid_request"})
        form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        if form.get("grant_type") == "authorization_code":
            if form.get("code") != AUTHORIZATION_CODE:
                return Reply.json(400, {"error": "invalid_grant", "error_description": "Bad code"})
            with self._lock:
                self.codes_exchanged += 1
                access = f"ya29.fake-code-{uuid.uuid4().hex[:16]}"
                self._tokens.add(access)
            return Reply.json(
                200,
                {
                    "access_token": access,
                    "refresh_token": self.refresh_token or "1//fake-refresh",
                    "expires_in": self.token_lifetime,
                    "scope": " ".join(self.scopes),
                    "token_type": "Bearer",
                },
            )
        if form.get("grant_type") != "refresh_token":
            return Reply.json(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": f"Invalid grant_type: {form.get('grant_type', '')}",
                },
            )
        if not form.get("client_id") or not form.get("client_secret"):
            return Reply.json(
                401,
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
            )
        token = form.get("refresh_token")
        if not token or (self.refresh_token is not None and token != self.refresh_token):
            return Reply.json(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        with self._lock:
            self.token_refreshes += 1
            access = f"ya29.fake-{self.token_refreshes}-{uuid.uuid4().hex[:16]}"
            self._tokens.add(access)
        return Reply.json(
            200,
            {
                "access_token": access,
                "expires_in": self.token_lifetime,
                "scope": form.get("scope") or " ".join(self.scopes),
                "token_type": "Bearer",
            },
        )

    def _authorized(self, headers: Mapping[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").strip().partition(" ")
        return scheme.lower() == "bearer" and token.strip() in self._tokens

    def _call(self, verb: str, target: str, headers: Mapping[str, str]) -> Reply:
        """One API call: route, authorize, fault, charge, handle, mask."""
        split = urlsplit(target)
        query = _Query(parse_qs(split.query, keep_blank_values=True))
        found: tuple[str, Handler, tuple[str, ...]] | None = None
        for route_verb, pattern, name, handler in self._routes:
            match = pattern.fullmatch(split.path)
            if match:
                if route_verb != verb:
                    return google_error(405, "Method Not Allowed", reason="httpMethodNotAllowed")
                found = name, handler, tuple(unquote(group) for group in match.groups())
                break
        if found is None:
            return google_error(404, f"Not Found: {split.path}", reason="notFound")
        name, handler, args = found
        with self._lock:
            if not self._authorized(headers):
                return google_error(
                    401,
                    _AUTH_MESSAGE,
                    reason="authError",
                    headers={
                        "WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", '
                        'error="invalid_token"'
                    },
                )
            self.calls[name] += 1
            fault = self._take_fault(name)
            if fault is not None:
                self.faults[fault.status] += 1
                return self._fault_reply(fault)
            mask: FieldTree | None = None
            fields = query.get("fields")
            if fields:
                try:
                    mask = parse_fields(fields)
                except ValueError as exc:
                    return google_error(400, str(exc), reason="invalidParameter")
            alt = query.get("alt")
            if alt not in (None, "json"):
                return google_error(400, f"Unsupported alt {alt}", reason="invalidParameter")
            units = UNITS[name]
            if not self._within_quota(units):
                self.quota_refusals += 1
                return google_error(
                    429,
                    "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute "
                    "per user' of service 'fake.googleapis.com' for consumer "
                    "'project_number:0'.",
                    reason="rateLimitExceeded",
                )
            self.units_used += units
            self.spends.append((self.clock(), units, name))
            try:
                payload = handler(query, *args)
            except ApiError as exc:
                return exc.reply
            return Reply.json(200, apply_fields(payload, mask))

    def _take_fault(self, method: str) -> _Fault | None:
        for index, fault in enumerate(self._fail_queue):
            if fault.method is None or fault.method == method:
                del self._fail_queue[index]
                return fault
        if self._fault_p > 0 and self._fault_method in (None, method):
            rng = self._fault_rng
            if rng.random() < self._fault_p:
                status = self._fault_statuses[rng.randrange(len(self._fault_statuses))]
                return _Fault(status, self._fault_retry_after, None)
        return None

    @staticmethod
    def _fault_reply(fault: _Fault) -> Reply:
        default = ("backendError", HTTPStatus(fault.status).phrase)
        reason, message = _FAULTS.get(fault.status, default)
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return google_error(fault.status, message, reason=reason, headers=headers)

    def _within_quota(self, units: int) -> bool:
        if self.quota_per_minute is None:
            return True
        now = self.clock()
        window = self._quota_window
        while window and window[0][0] <= now - 60.0:
            window.popleft()
        if sum(spent for _, spent in window) + units > self.quota_per_minute:
            return False
        window.append((now, units))
        return True

    # ------------------------------------------------------------------ batch

    def _batch(self, verb: str, path: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """A multipart/mixed batch as BatchHttpRequest writes it; answered the way Google does."""
        if verb != "POST" or path not in _BATCH_PATHS:
            return google_error(404, f"Not Found: {path}", reason="notFound")
        content_type = headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/mixed"):
            return google_error(400, "Batch requests must be multipart/mixed.", reason="badRequest")
        envelope = Parser().parsestr(
            f"Content-Type: {content_type}\r\n\r\n" + body.decode("utf-8", "replace")
        )
        parts = envelope.get_payload() if envelope.is_multipart() else None
        if not isinstance(parts, list) or not parts:
            return google_error(400, "Empty or malformed batch request.", reason="badRequest")
        with self._lock:
            self.batch_sizes.append(len(parts))
            self.max_batch = max(self.max_batch, len(parts))
        if len(parts) > self.batch_limit:
            return google_error(
                400,
                f"Too many requests in batch; the limit is {self.batch_limit}.",
                reason="badRequest",
            )
        inherited = {k: v for k, v in headers.items() if k == "authorization"}
        answers: list[tuple[str, Reply]] = []
        for index, part in enumerate(parts, 1):
            # Long Content-IDs arrive folded ("<uuid +\n id>"): unfold, keeping the blank.
            raw_id = str(part.get("Content-ID") or f"<{uuid.uuid4()} + {index}>")
            content_id = re.sub(r"\r?\n(?=[ \t])", "", raw_id).strip()
            answers.append((content_id, self._batch_part(part, inherited)))
        boundary = "batch_" + uuid.uuid4().hex
        chunks: list[str] = []
        for content_id, reply in answers:
            inner = content_id[1:-1] if content_id.startswith("<") else content_id
            lines = [
                f"--{boundary}",
                "Content-Type: application/http",
                f"Content-ID: <response-{inner}>",
                "",
                f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}",
                *(f"{key}: {value}" for key, value in reply.headers.items()),
                f"Content-Length: {len(reply.body)}",
                "",
            ]
            chunks.append("\r\n".join(lines) + "\r\n" + reply.body.decode("utf-8") + "\r\n")
        chunks.append(f"--{boundary}--\r\n")
        return Reply(
            200,
            "".join(chunks).encode("utf-8"),
            {"Content-Type": f"multipart/mixed; boundary={boundary}"},
        )

    def _batch_part(self, part: Message, inherited: Mapping[str, str]) -> Reply:
        """Answer one application/http part: ``VERB /path?query HTTP/1.1``, headers, body."""
        payload = part.get_payload()
        if part.get_content_type() != "application/http" or not isinstance(payload, str):
            return google_error(400, "Batch parts must be application/http.", reason="badRequest")
        head = re.split(r"\r?\n\r?\n", payload, maxsplit=1)[0]
        lines = head.splitlines()
        words = lines[0].split() if lines else []
        if len(words) < 2:
            return google_error(400, "Malformed request line in batch part.", reason="badRequest")
        verb, target = words[0].upper(), words[1]
        if target.startswith(("http://", "https://")):
            split = urlsplit(target)
            target = split.path + ("?" + split.query if split.query else "")
        headers = dict(inherited)
        for line in lines[1:]:
            key, sep, value = line.partition(":")
            if sep:
                headers[key.strip().lower()] = value.strip()
        path = urlsplit(target).path
        if path == "/token" or path.startswith("/batch"):
            return google_error(400, "Nested batch or token request.", reason="badRequest")
        return self._call(verb, target, headers)

    # ------------------------------------------------------------------ Gmail

    def _check_user(self, user: str) -> None:
        if user not in ("me", self.owner):
            raise ApiError(
                google_error(403, f"Delegation denied for {self.owner}", reason="forbidden")
            )

    def _profile(self, query: _Query, user: str) -> JSON:
        self._check_user(user)
        return {
            "emailAddress": self.owner,
            "messagesTotal": len(self._messages),
            "threadsTotal": len({m.thread_id for m in self._messages.values()}),
            "historyId": str(self._history_id),
        }

    def _send_as_list(self, query: _Query, user: str) -> JSON:
        self._check_user(user)
        entries: list[JSON] = [
            {
                "sendAsEmail": self.owner,
                "displayName": "",
                "replyToAddress": "",
                "signature": "",
                "isPrimary": True,
                "isDefault": True,
            }
        ]
        for alias in self.send_as:
            entries.append(
                {
                    "sendAsEmail": alias,
                    "displayName": "",
                    "replyToAddress": "",
                    "signature": "",
                    "treatAsAlias": True,
                    "verificationStatus": "accepted",
                }
            )
        return {"sendAs": entries}

    def _list(self, query: _Query, user: str) -> JSON:
        self._check_user(user)
        size = query.int("maxResults", 100, 1, 500)
        label_ids = query.all("labelIds")
        test, asked = _gmail_search(query.get("q") or "")
        hidden = set() if query.bool("includeSpamTrash") else {"SPAM", "TRASH"}
        hidden -= set(label_ids) | asked
        matches = [
            m
            for m in self._messages.values()
            if not hidden & set(m.labels)
            and all(label in m.labels for label in label_ids)
            and test(m)
        ]
        matches.sort(key=lambda m: (-m.internal_ms, -m.seq))
        total = len(matches)
        token = query.get("pageToken")
        if token:
            state = _decode_token(token, "messages")
            if state is None:
                raise _bad_request("Invalid pageToken", "invalidParameter")
            last = (-int(state["t"]), -int(state["s"]))
            matches = [m for m in matches if (-m.internal_ms, -m.seq) > last]
        page = matches[:size]
        body: JSON = {}
        if page:
            body["messages"] = [self._message_ref(m) for m in page]
        if len(matches) > size:
            body["nextPageToken"] = _encode_token(
                "messages", t=page[-1].internal_ms, s=page[-1].seq
            )
        body["resultSizeEstimate"] = total
        return body

    def _get(self, query: _Query, user: str, message_id: str) -> JSON:
        self._check_user(user)
        message = self._messages.get(message_id)
        if message is None:
            raise _not_found()
        fmt = query.get("format") or "full"
        if fmt not in ("minimal", "metadata", "full", "raw"):
            raise _bad_request(f"Invalid format {fmt}", "invalidParameter")
        body: JSON = {"id": message.id, "threadId": message.thread_id}
        if message.labels:
            body["labelIds"] = list(message.labels)
        body.update(
            {
                "snippet": "",
                "sizeEstimate": message.size,
                "historyId": str(message.history_id),
                "internalDate": str(message.internal_ms),
            }
        )
        body.update(message.damage)
        body = {key: value for key, value in body.items() if value is not None}
        headers = [{"name": name, "value": value} for name, value in message.headers]
        if fmt == "metadata":
            wanted = {name.lower() for name in query.all("metadataHeaders")}
            if wanted:
                headers = [h for h in headers if h["name"].lower() in wanted]
            body["payload"] = {"mimeType": "text/plain", "headers": headers}
        elif fmt == "full":
            body["payload"] = {
                "partId": "",
                "mimeType": "text/plain",
                "filename": "",
                "headers": headers,
                "body": {"size": 0},
            }
        elif fmt == "raw":
            text = "".join(f"{name}: {value}\r\n" for name, value in message.headers) + "\r\n"
            body["raw"] = base64.urlsafe_b64encode(text.encode("utf-8")).decode()
        return body

    def _history_list(self, query: _Query, user: str) -> JSON:
        self._check_user(user)
        start_text = query.get("startHistoryId")
        if not start_text:
            raise _bad_request("Missing startHistoryId", "invalidArgument")
        try:
            start = int(start_text)
        except ValueError:
            raise _bad_request("Invalid startHistoryId", "invalidArgument") from None
        if start < self._history_floor:
            raise _not_found()
        size = query.int("maxResults", 100, 1, 500)
        kinds = {_HISTORY_TYPES[t] for t in query.all("historyTypes") if t in _HISTORY_TYPES}
        if len(kinds) != len(set(query.all("historyTypes"))):
            raise _bad_request("Invalid historyTypes", "invalidParameter")
        label = query.get("labelId")
        after = start
        token = query.get("pageToken")
        if token:
            state = _decode_token(token, "history")
            if state is None:
                raise _bad_request("Invalid pageToken", "invalidParameter")
            after = max(after, int(state["after"]))
        records: list[JSON] = []
        for record in self._history:
            if record["id"] <= after:
                continue
            rendered = _render_history(record, kinds, label)
            if rendered is not None:
                records.append(rendered)
        page = records[:size]
        body: JSON = {}
        if page:
            body["history"] = page
        if len(records) > size:
            body["nextPageToken"] = _encode_token("history", after=int(page[-1]["id"]))
        body["historyId"] = str(self._history_id)
        return body

    # ------------------------------------------------------------------ People

    def _connections_list(self, query: _Query, resource_name: str) -> JSON:
        if resource_name != "people/me":
            raise ApiError(
                google_error(
                    400,
                    "Resource name must be people/me for connections.list.",
                    reason=None,
                    status="INVALID_ARGUMENT",
                )
            )
        mask = query.get("personFields") or query.get("requestMask.includeField")
        if not mask:
            raise ApiError(
                google_error(
                    400,
                    "personFields mask is required. Please specify one or more valid paths. "
                    "Valid paths are documented at "
                    "https://developers.google.com/people/api/rest/v1/people/get.",
                    reason=None,
                )
            )
        fields = _people_mask(mask, _PERSON_FIELDS, "personFields")
        return self._people_page(query, other=False, fields=fields)

    def _other_contacts_list(self, query: _Query) -> JSON:
        mask = query.get("readMask")
        if not mask:
            raise ApiError(
                google_error(
                    400,
                    "readMask is required. Please specify one or more valid paths. Valid paths "
                    "are documented at "
                    "https://developers.google.com/people/api/rest/v1/otherContacts/list.",
                    reason=None,
                )
            )
        fields = _people_mask(mask, _OTHER_FIELDS, "readMask")
        return self._people_page(query, other=True, fields=fields)

    def _people_page(self, query: _Query, *, other: bool, fields: frozenset[str]) -> JSON:
        kind = "otherContacts" if other else "connections"
        size = query.int("pageSize", 100, 0, 1000) or 100
        page_token = query.get("pageToken")
        since: int | None
        after: tuple[int, str] | None = None
        if page_token:
            state = _decode_token(page_token, kind + "-page")
            if state is None:
                raise ApiError(google_error(400, "Page token is not valid.", reason=None))
            since, snapshot = state["since"], int(state["snap"])
            after = (int(state["seq"]), str(state["rn"]))
        else:
            since = None
            sync_token = query.get("syncToken")
            if sync_token:
                state = _decode_token(sync_token, kind + "-sync")
                if state is None:
                    raise ApiError(google_error(400, "Sync token is not valid.", reason=None))
                since = int(state["seq"])
                if since < self._people_floor:
                    raise ApiError(_people_expired(kind))
            snapshot = self._people_seq
        pool = sorted(
            (
                p
                for p in self._people.values()
                if p.other == other
                and p.seq <= snapshot
                and (p.seq > since if since is not None else not p.deleted)
            ),
            key=lambda p: (p.seq, p.resource_name),
        )
        if after is not None:
            pool = [p for p in pool if (p.seq, p.resource_name) > after]
        page = pool[:size]
        body: JSON = {}
        if page:
            body[kind] = [_render_person(p, fields) for p in page]
        if len(pool) > size:
            body["nextPageToken"] = _encode_token(
                kind + "-page", since=since, snap=snapshot, seq=page[-1].seq,
                rn=page[-1].resource_name,
            )  # fmt: skip
        elif query.bool("requestSyncToken"):
            body["nextSyncToken"] = _encode_token(kind + "-sync", seq=snapshot)
        total = sum(1 for p in self._people.values() if p.other == other and not p.deleted)
        if other:
            body["totalSize"] = total
        else:
            body["totalPeople"] = total
            body["totalItems"] = total
        return body

    # ------------------------------------------------------------------ Calendar

    def _events_list(self, query: _Query, calendar_id: str) -> JSON:
        calendar = self._calendar_key(calendar_id)
        if calendar not in self._calendars:
            raise ApiError(google_error(404, "Not Found", reason="notFound", status=None))
        size = query.int("maxResults", 250, 1, 2500)
        order = query.get("orderBy")
        if order not in (None, "startTime", "updated"):
            raise _calendar_bad(f"Invalid value for orderBy: {order}")
        if order == "startTime" and not query.bool("singleEvents"):
            raise _calendar_bad("The requested ordering is not available for the particular query.")
        page_token = query.get("pageToken")
        sync_token = query.get("syncToken")
        if sync_token:
            clash = [name for name in _NOT_WITH_SYNC if query.get(name)]
            if clash:
                raise _calendar_bad(f"Sync token cannot be used with {', '.join(clash)}.")
        since: int | None = None
        after: list[Any] | None = None
        if page_token:
            state = _decode_token(page_token, "events")
            if state is None or state["cal"] != calendar:
                raise _calendar_bad("Invalid page token value.")
            since, snapshot, after = state["since"], int(state["snap"]), list(state["after"])
        else:
            if sync_token:
                state = _decode_token(sync_token, "events-sync")
                if state is None or state["cal"] != calendar:
                    raise _calendar_bad("Invalid sync token value.")
                since = int(state["seq"])
                if since < self._calendar_floor:
                    raise ApiError(
                        google_error(410, _CALENDAR_EXPIRED, reason="fullSyncRequired", status=None)
                    )
            snapshot = self._calendar_seq
        low = _query_time(query, "timeMin")
        high = _query_time(query, "timeMax")
        updated_min = _query_time(query, "updatedMin")
        show_deleted = since is not None or query.bool("showDeleted")
        ical_uid = query.get("iCalUID")
        pool: list[tuple[list[Any], _Event]] = []
        for event in self._events.values():
            if event.calendar_id != calendar or event.seq > snapshot:
                continue
            if since is not None and event.seq <= since:
                continue
            if event.data.get("status") == "cancelled" and not show_deleted:
                continue
            start, end = _event_time(event.data.get("start")), _event_time(event.data.get("end"))
            if low is not None and end is not None and end <= low:
                continue
            if high is not None and start is not None and start >= high:
                continue
            if updated_min is not None:
                updated = _event_time({"dateTime": event.data.get("updated", "")})
                if updated is not None and updated < updated_min:
                    continue
            if ical_uid is not None and event.data.get("iCalUID") != ical_uid:
                continue
            if order == "startTime":
                key: list[Any] = [start.timestamp() if start else 0.0, event.data["id"]]
            elif order == "updated":
                key = [str(event.data.get("updated", "")), event.data["id"]]
            else:
                key = [event.created, event.data["id"]]
            pool.append((key, event))
        pool.sort(key=lambda item: item[0])
        if after is not None:
            pool = [item for item in pool if item[0] > after]
        page = pool[:size]
        body: JSON = {
            "kind": "calendar#events",
            "etag": f'"{snapshot}"',
            "summary": calendar,
            "description": "",
            "updated": _rfc3339(datetime.now(UTC)),
            "timeZone": "UTC",
            "accessRole": "owner",
            "defaultReminders": [],
            "items": [_render_event(event) for _, event in page],
        }
        if len(pool) > size:
            body["nextPageToken"] = _encode_token(
                "events", cal=calendar, since=since, snap=snapshot, after=page[-1][0]
            )
        else:
            body["nextSyncToken"] = _encode_token("events-sync", cal=calendar, seq=snapshot)
        return body


# --------------------------------------------------------------------------- renderers


def _gmail_search(text: str) -> tuple[Callable[[_Message], bool], set[str]]:
    """A predicate for a Gmail ``q`` and the labels it asks for explicitly.

    Supported: after:/before: (YYYY/MM/DD at midnight Pacific, as Gmail reads dates, or epoch
    seconds), in:/label:/is: and their negations, in:anywhere, from:/to:/cc:/subject:
    (substring of the header). Anything else is a 400, so an unsupported query cannot pass
    silently.
    """
    tests: list[Callable[[_Message], bool]] = []
    asked: set[str] = set()
    for term in text.split():
        negated = term.startswith("-")
        key, sep, value = term.lstrip("-").partition(":")
        key = key.lower()
        if not sep or not value:
            raise _bad_request(f"FakeGoogle does not support the search term {term!r}")
        if key in ("after", "before") and not negated:
            tests.append(_date_bound(_gmail_date(value), after=key == "after"))
        elif key == "in" and value.lower() == "anywhere" and not negated:
            asked |= {"SPAM", "TRASH"}
        elif key in ("in", "label", "is"):
            label = _SYSTEM_LABELS.get(value.lower(), value)
            if not negated:
                asked.add(label)
            tests.append(_has_label(label, negated))
        elif key in ("from", "to", "cc", "subject") and not negated:
            tests.append(_header_contains(key, value))
        else:
            raise _bad_request(f"FakeGoogle does not support the search term {term!r}")
    return (lambda m: all(test(m) for test in tests)), asked


def _date_bound(bound_ms: int, *, after: bool) -> Callable[[_Message], bool]:
    if after:
        return lambda m: m.internal_ms >= bound_ms
    return lambda m: m.internal_ms < bound_ms


def _has_label(label: str, negated: bool) -> Callable[[_Message], bool]:
    want = label.lower()
    return lambda m: any(have.lower() == want for have in m.labels) != negated


def _header_contains(name: str, text: str) -> Callable[[_Message], bool]:
    want = text.lower()
    return lambda m: any(
        header.lower() == name and want in content.lower() for header, content in m.headers
    )


def _gmail_date(value: str) -> int:
    """Milliseconds for an after:/before: value."""
    if value.isdigit():
        return int(value) * 1000
    match = re.fullmatch(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})", value)
    if match is None:
        raise _bad_request(f"FakeGoogle does not understand the date {value!r}")
    year, month, day = (int(part) for part in match.groups())
    return _utc_ms(datetime(year, month, day, tzinfo=_PACIFIC))


def _render_history(record: JSON, kinds: set[str], label: str | None) -> JSON | None:
    rendered: JSON = {"id": str(record["id"]), "messages": record["messages"]}
    found = False
    for kind in _HISTORY_TYPES.values():
        if kind in record and (not kinds or kind in kinds):
            rendered[kind] = record[kind]
            found = True
    if not found:
        return None
    if label is not None:
        labelled = any(
            label in entry["message"].get("labelIds", [])
            for kind in _HISTORY_TYPES.values()
            for entry in rendered.get(kind, [])
        )
        if not labelled:
            return None
    return copy.deepcopy(rendered)


def _person_name(name: str | Mapping[str, str]) -> JSON:
    if isinstance(name, Mapping):
        out = dict(name)
        if "displayName" not in out:
            out["displayName"] = " ".join(
                p for p in (out.get("givenName", ""), out.get("familyName", "")) if p
            )
        return out
    given, _, family = str(name).rpartition(" ")
    if not given:
        given, family = family, ""
    out = {"displayName": str(name), "givenName": given, "unstructuredName": str(name)}
    if family:
        out["familyName"] = family
        out["displayNameLastFirst"] = f"{family}, {given}"
    else:
        out["displayNameLastFirst"] = given
    return out


def _organization(org: str | tuple[str, str] | Mapping[str, str]) -> JSON:
    if isinstance(org, Mapping):
        return dict(org)
    if isinstance(org, tuple):
        name, title = org
        out = {"name": name}
        if title:
            out["title"] = title
        return out
    return {"name": str(org)}


def _people_mask(mask: str, allowed: frozenset[str], param: str) -> frozenset[str]:
    fields = set()
    for path in mask.split(","):
        name = path.strip().removeprefix("person.")
        if name not in allowed:
            raise ApiError(
                google_error(
                    400,
                    f'Invalid {param} mask path: "{path.strip()}". Valid paths are '
                    "documented at https://developers.google.com/people/api/rest/v1/people/get.",
                    reason=None,
                )
            )
        fields.add(name)
    return frozenset(fields)


def _people_expired(kind: str) -> Reply:
    method = (
        "google.people.v1.OtherContactsService.ListOtherContacts"
        if kind == "otherContacts"
        else "google.people.v1.PeopleService.ListConnections"
    )
    return google_error(
        400,
        _PEOPLE_EXPIRED,
        reason=None,
        status="FAILED_PRECONDITION",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "EXPIRED_SYNC_TOKEN",
                "domain": "people.googleapis.com",
                "metadata": {"service": "people.googleapis.com", "method": method},
            }
        ],
    )


def _render_person(person: _Person, fields: frozenset[str]) -> JSON:
    if person.deleted:
        return {
            "resourceName": person.resource_name,
            "etag": person.etag,
            "metadata": {"deleted": True},
        }
    source = {
        "type": "OTHER_CONTACT" if person.other else "CONTACT",
        "id": person.resource_name.rpartition("/")[2],
    }

    def meta(index: int) -> JSON:
        return {"primary": True, "source": dict(source)} if index == 0 else {"source": dict(source)}

    out: JSON = {"resourceName": person.resource_name, "etag": person.etag}
    if "metadata" in fields:
        out["metadata"] = {
            "sources": [{**source, "etag": person.etag}],
            "objectType": "PERSON",
        }
    if "names" in fields and person.names:
        out["names"] = [{"metadata": meta(i), **n} for i, n in enumerate(person.names)]
    if "emailAddresses" in fields and person.emails:
        out["emailAddresses"] = [
            {"metadata": meta(i), "value": e} for i, e in enumerate(person.emails)
        ]
    if "phoneNumbers" in fields and person.phones:
        out["phoneNumbers"] = [
            {"metadata": meta(i), "value": p} for i, p in enumerate(person.phones)
        ]
    if "organizations" in fields and person.organizations:
        out["organizations"] = [
            {"metadata": meta(i), **o} for i, o in enumerate(person.organizations)
        ]
    return out


def _calendar_bad(message: str) -> ApiError:
    return ApiError(google_error(400, message, reason="invalid", status=None))


def _query_time(query: _Query, name: str) -> datetime | None:
    text = query.get(name)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise _calendar_bad(f"Bad Request: {name} is not RFC 3339") from None
    if moment.tzinfo is None:
        raise _calendar_bad(f"Bad Request: {name} needs a time zone offset")
    return moment


def _render_event(event: _Event) -> JSON:
    if event.deleted:
        return {
            "kind": "calendar#event",
            "etag": event.data["etag"],
            "id": event.data["id"],
            "status": "cancelled",
        }
    return copy.deepcopy(event.data)
