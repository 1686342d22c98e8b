"""The Google connector: Gmail metadata, contacts and calendar of one account, incrementally.

The cursor (a JSON object) holds, per part:
- `mail`: `{"history": H}` once a full listing is done (the next run reads `users.history.list`
  from H), or `{"full": {"history": H, "page": P, "after": T}}` while a full listing is under way
  (H was read from the profile before the listing began, P is the next page to read).
- `connections`, `other`: People API sync tokens; `calendar`: the Calendar sync token.

Each page of work ends with a Checkpoint, committed with the records before it: an interrupted
run repeats at most one page, and the store ignores what it already has.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from google.auth.exceptions import RefreshError
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from connectors.base import Connector, ReadOptions
from connectors.gmail.auth import SCOPES
from connectors.gmail.client import Caller, error_reasons
from connectors.gmail.parse import (
    MESSAGE_FIELDS,
    METADATA_HEADERS,
    PERSON_FIELDS,
    event_attendees,
    event_start,
    gmail_message,
    person_contact,
)
from pipeline.config import GmailAccount, zone
from pipeline.errors import SignInError, SourceError
from pipeline.mail import MailPolicy, exchanges, noise
from pipeline.meetings import Upcoming, meeting_exchanges, meeting_key
from pipeline.model import (
    Checkpoint,
    ExchangeRow,
    Interaction,
    Problem,
    Record,
    Skipped,
    exchange_rows,
    packed,
)

GOOGLE_ROOT = "https://www.googleapis.com/"
_PAGE = 500
#: Labels that make a message noise before it is fetched (history records carry them).
_NOISE_LABELS = frozenset({"SPAM", "TRASH", "CHAT", "DRAFT"})
#: Meetings up to this far ahead are remembered until they take place (see _calendar_pages).
_UPCOMING_DAYS = 400


class GmailConnector(Connector):
    """One Google account: its mail, contacts and calendar, as records."""

    name = "gmail"
    work_unit = "quota units"

    def __init__(
        self,
        account: GmailAccount,
        credentials: Any,
        options: ReadOptions,
        *,
        since: date | None = None,
        everything: bool = False,
        caller: Caller | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.account = account
        self.credentials = credentials
        self.options = options
        self.since = since
        self.everything = everything
        self.caller = caller or Caller(account.quota_units_per_minute)
        self.now = now
        self.fetched = 0
        root = account.api_endpoint or ""
        self._root = root.rstrip("/") + "/" if root else GOOGLE_ROOT
        self._services: dict[str, Any] = {}
        self._profile: dict[str, Any] = {}
        self._mail_policy = options.mail
        granted = set(getattr(credentials, "scopes", None) or SCOPES.values())
        self.parts = {
            "mail": SCOPES["gmail.metadata"] in granted
            or "https://www.googleapis.com/auth/gmail.readonly" in granted,
            "connections": SCOPES["contacts.readonly"] in granted,
            "other": SCOPES["contacts.other.readonly"] in granted,
            "calendar": SCOPES["calendar.readonly"] in granted,
        }

    def stream(self) -> str:
        return f"gmail:{self.account.account}"

    def work_done(self) -> int:
        return self.caller.ledger.units

    # -- services ------------------------------------------------------------------------------

    def _service(self, name: str) -> Any:
        if name not in self._services:
            version = {"gmail": "v1", "people": "v1", "calendar": "v3"}[name]
            options = None
            if self.account.api_endpoint:
                # Calendar's method paths lack their version; Gmail's and People's carry it.
                endpoint = self._root + ("calendar/v3/" if name == "calendar" else "")
                options = {"api_endpoint": endpoint}
            self._services[name] = build(
                name,
                version,
                credentials=self.credentials,
                static_discovery=True,
                cache_discovery=False,
                client_options=options,
                num_retries=0,
            )
        return self._services[name]

    # -- extract -------------------------------------------------------------------------------

    def extract(self, cursor: str | None) -> Iterator[Record]:
        """Everything new since `cursor`, a Checkpoint after each page of work.

        Google's errors leave as SourceError (SignInError when the sign-in is refused)."""
        try:
            yield from self._parts(cursor)
        except HttpError as exc:
            raise connector_error(exc) from None
        except RefreshError:
            raise SignInError(
                "Google no longer accepts the sign-in (expired or revoked); "
                f"run `netgarden auth gmail --account {self.account.account}` again"
            ) from None

    def _parts(self, cursor: str | None) -> Iterator[Record]:
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        if self.parts["mail"]:
            yield from self._mail(state)
        for part in ("connections", "other"):
            if self.parts[part]:
                yield from self._people(state, part)
        if self.parts["calendar"]:
            yield from self._calendar(state)

    def _checkpoint(self, state: dict[str, Any]) -> Checkpoint:
        return Checkpoint(json.dumps(state, sort_keys=True))

    # -- mail ----------------------------------------------------------------------------------

    def _policy(self) -> tuple[MailPolicy, frozenset[str]]:
        gmail = self._service("gmail")
        profile = self.caller.call(gmail.users().getProfile(userId="me"), "getProfile")
        addresses = {str(profile.get("emailAddress", "")).lower()}
        try:
            answer = self.caller.call(gmail.users().settings().sendAs().list(userId="me"), "sendAs")
            addresses |= {str(a.get("sendAsEmail", "")).lower() for a in answer.get("sendAs", [])}
        except HttpError as exc:
            if int(exc.resp.status) not in (403, 404):
                raise
        addresses.discard("")
        self._profile = profile
        self._mail_policy = self.options.mail.with_me(addresses)
        return self._mail_policy, frozenset(addresses)

    def _mail(self, state: dict[str, Any]) -> Iterator[Record]:
        policy, send_as = self._policy()
        mail = state.get("mail") or {}
        if "history" in mail and "full" not in mail:
            try:
                yield from self._history(state, policy, send_as, str(mail["history"]))
                return
            except HttpError as exc:
                if int(exc.resp.status) != 404:
                    raise
                self.notes.append(
                    "mail: the saved position has expired (Gmail keeps about a week of "
                    "history); reading the whole window again"
                )
                state["mail"] = {}
        yield from self._full(state, policy, send_as)

    def _after(self) -> int | None:
        """The start of the backfill window as epoch seconds (None: all mail)."""
        if self.everything:
            return None
        start = self.since or (self.now() - timedelta(days=self.account.backfill_days)).date()
        return int(datetime.combine(start, datetime.min.time(), tzinfo=UTC).timestamp())

    def _full(
        self, state: dict[str, Any], policy: MailPolicy, send_as: frozenset[str]
    ) -> Iterator[Record]:
        gmail = self._service("gmail")
        full = (state.get("mail") or {}).get("full") or {
            # The mailbox's position before the listing: what arrives during it is read next run.
            "history": str(self._profile.get("historyId", "")),
            "page": None,
            "after": self._after(),
        }
        while True:
            query = f"after:{full['after']}" if full.get("after") is not None else None
            page = self.caller.call(
                gmail.users()
                .messages()
                .list(userId="me", maxResults=_PAGE, pageToken=full.get("page"), q=query),
                "messages.list",
            )
            ids = [str(m["id"]) for m in page.get("messages", [])]
            yield from self._messages(ids, policy, send_as)
            token = page.get("nextPageToken")
            if token:
                full = {**full, "page": token}
                state["mail"] = {"full": full}
            else:
                state["mail"] = {"history": full["history"]}
            yield self._checkpoint(state)
            if not token:
                return

    def _history(
        self, state: dict[str, Any], policy: MailPolicy, send_as: frozenset[str], start: str
    ) -> Iterator[Record]:
        gmail = self._service("gmail")
        token: str | None = None
        ids: dict[str, None] = {}
        skipped: Counter[str] = Counter()
        latest = start
        while True:
            page = self.caller.call(
                gmail.users()
                .history()
                .list(
                    userId="me",
                    startHistoryId=start,
                    historyTypes="messageAdded",
                    maxResults=_PAGE,
                    pageToken=token,
                ),
                "history.list",
            )
            latest = str(page.get("historyId", latest))
            for record in page.get("history", []):
                for added in record.get("messagesAdded", []):
                    message = added.get("message", {})
                    labels = set(message.get("labelIds", []))
                    # Never fetch what will be skipped: the labels are already here.
                    noisy = labels & _NOISE_LABELS
                    if noisy:
                        reason = noise(
                            frozenset(label.lower() for label in noisy), False, "", "", "", ""
                        )
                        skipped[reason] += 1
                    else:
                        ids[str(message.get("id"))] = None
            token = page.get("nextPageToken")
            if not token:
                break
        for reason, count in skipped.items():
            yield Skipped(reason, count=count)
        yield from self._messages(list(ids), policy, send_as)
        state["mail"] = {"history": latest}
        yield self._checkpoint(state)

    def _messages(
        self, ids: list[str], policy: MailPolicy, send_as: frozenset[str]
    ) -> Iterator[Record]:
        """Fetch message metadata in batches; yield their exchanges and skip counts."""
        if not ids:
            return
        gmail = self._service("gmail")
        messages = gmail.users().messages()

        def maker(message_id: str) -> Callable[[], Any]:
            return lambda: messages.get(
                userId="me",
                id=message_id,
                format="metadata",
                metadataHeaders=list(METADATA_HEADERS),
                fields=MESSAGE_FIELDS,
            )

        found = self.caller.batch(
            [(i, maker(i)) for i in ids], "messages.get", self._root + "batch/gmail/v1"
        )
        rows: list[ExchangeRow] = []
        skipped: Counter[str] = Counter()
        problems: list[Problem] = []
        for message_id in ids:
            data = found.get(message_id)
            if data is None:
                continue
            message = gmail_message(data, send_as)
            if message is None:
                problems.append(
                    Problem(self.stream(), 0, f"message {message_id}", "no usable internalDate")
                )
                continue
            reason, exchanged = exchanges(message, policy, self.name)
            if reason:
                skipped[reason] += 1
                continue
            rows.extend(exchange_rows(exchanged))
        self.fetched += len(found)
        self._report(self.caller.ledger.units, self.fetched)
        yield from packed(self.name, rows, skipped)
        yield from problems

    # -- contacts ------------------------------------------------------------------------------

    def _people(self, state: dict[str, Any], part: str) -> Iterator[Record]:
        people = self._service("people")
        token = state.get(part)
        for attempt in (0, 1):
            try:
                yield from self._people_pages(people, state, part, token)
                return
            except HttpError as exc:
                expired = "EXPIRED_SYNC_TOKEN" in error_reasons(exc) or (
                    int(exc.resp.status) == 410
                )
                if not expired or attempt:
                    raise
                self.notes.append(f"{part}: the sync token has expired; reading them all again")
                token = None

    def _people_pages(
        self, people: Any, state: dict[str, Any], part: str, token: str | None
    ) -> Iterator[Record]:
        page_token: str | None = None
        region = self.options.default_region
        source = "google" if part == "connections" else "google_other"
        while True:
            if part == "connections":
                request = (
                    people.people()
                    .connections()
                    .list(
                        resourceName="people/me",
                        personFields=PERSON_FIELDS,
                        pageSize=1000,
                        pageToken=page_token,
                        requestSyncToken=True,
                        syncToken=token,
                    )
                )
                key = "connections"
            else:
                request = people.otherContacts().list(
                    readMask="names,emailAddresses,phoneNumbers",
                    pageSize=1000,
                    pageToken=page_token,
                    requestSyncToken=True,
                    syncToken=token,
                )
                key = "otherContacts"
            page = self.caller.call(request, f"people.{part}")
            for person in page.get(key, []):
                if (person.get("metadata") or {}).get("deleted"):
                    continue  # a contact deleted in Google: history stays
                contact = person_contact(person, source, region)
                if contact is None:
                    yield Skipped("contacts with nothing to call them by")
                else:
                    yield contact
            page_token = page.get("nextPageToken")
            if not page_token:
                if page.get("nextSyncToken"):
                    state[part] = page["nextSyncToken"]
                yield self._checkpoint(state)
                return

    # -- calendar ------------------------------------------------------------------------------

    def _calendar(self, state: dict[str, Any]) -> Iterator[Record]:
        calendar = self._service("calendar")
        token = state.get("calendar")
        for attempt in (0, 1):
            try:
                yield from self._calendar_pages(calendar, state, token)
                return
            except HttpError as exc:
                if int(exc.resp.status) != 410 or attempt:
                    raise
                self.notes.append("calendar: the sync token has expired; reading it all again")
                token = None

    def _calendar_pages(
        self, calendar: Any, state: dict[str, Any], token: str | None
    ) -> Iterator[Record]:
        """Events changed since `token` (all of them without one). A meeting still to come is
        kept in the cursor (`upcoming`) and recorded by the first run after it starts: a sync
        token sends an event again only when it changes."""
        page_token: str | None = None
        now = self.now()
        user_zone = zone(self.options.timezone)
        policy = self._mail_policy
        # A full re-read finds every upcoming meeting again.
        upcoming = Upcoming(state.get("upcoming") if token else None)
        horizon = now + timedelta(days=_UPCOMING_DAYS)
        while True:
            arguments: dict[str, Any] = {
                "calendarId": "primary",
                "singleEvents": True,
                "maxResults": 2500,
                "pageToken": page_token,
            }
            if token:
                arguments["syncToken"] = token
            else:
                after = self._after()
                if after is not None:
                    arguments["timeMin"] = datetime.fromtimestamp(after, tz=UTC).isoformat()
            page = self.caller.call(calendar.events().list(**arguments), "calendar.list")
            found: list[Interaction] = []
            skipped: Counter[str] = Counter()
            for event in page.get("items", []):
                event_id = str(event.get("id", ""))
                upcoming.forget(event_id)
                start = event_start(event, user_zone)
                if start is None or start > horizon:
                    continue
                reason, meetings = meeting_exchanges(
                    event_attendees(event),
                    cancelled=event.get("status") == "cancelled",
                    start=start,
                    key=meeting_key(str(event.get("iCalUID") or event_id), start),
                    policy=policy,
                    source=self.name,
                )
                if start > now:
                    upcoming.hold(event_id, meetings)
                    continue
                if reason:
                    skipped[reason] += 1
                found.extend(meetings)
            page_token = page.get("nextPageToken")
            if not page_token:
                found.extend(upcoming.due(now, self.name))
            yield from found
            for reason, count in skipped.items():
                yield Skipped(reason, count=count)
            if not page_token:
                if page.get("nextSyncToken"):
                    state["calendar"] = page["nextSyncToken"]
                state["upcoming"] = upcoming.items
                yield self._checkpoint(state)
                return


def connector_error(exc: HttpError) -> SourceError:
    """A Google error as one line for the user."""
    status = int(exc.resp.status) if exc.resp is not None else 0
    reasons = ", ".join(sorted(error_reasons(exc))) or "no reason given"
    if status in (401, 403):
        return SignInError(
            f"Google refused access ({status}: {reasons}); run `netgarden auth gmail` again"
        )
    return SourceError(f"Google answered {status} ({reasons})")
