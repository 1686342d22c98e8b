"""The Microsoft connector: one mailbox's mail, contacts and meetings through delta queries.

The cursor (a JSON object) holds, per delta (`mail/inbox`, `mail/sentitems`, ..., `contacts`,
`calendar`), the link to call next: `{"next": URL}` while a round of pages is under way,
`{"delta": URL}` once it is done. Links are used exactly as Graph returned them. Each page ends
with a Checkpoint, committed with its records: an interrupted run repeats at most one page.
An expired delta token (410, syncStateNotFound) means a full read of that part, said in a note.
`@removed` entries delete nothing: history stays.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from connectors.base import Connector, ReadOptions
from connectors.outlook.graph import Graph
from connectors.outlook.parse import (
    CONTACT_SELECT,
    MESSAGE_SELECT,
    event_attendees,
    event_start,
    graph_contact,
    graph_message,
)
from pipeline.config import OutlookAccount, zone
from pipeline.errors import CursorExpired
from pipeline.mail import exchanges
from pipeline.meetings import Upcoming, meeting_exchanges, meeting_key
from pipeline.model import (
    Checkpoint,
    ExchangeRow,
    Problem,
    Record,
    Skipped,
    exchange_rows,
    packed,
)

PAGE_SIZE = 1000
_MAIL_HEADERS = {
    "Prefer": f'odata.maxpagesize={PAGE_SIZE}, IdType="ImmutableId"',
}
#: Meetings up to this far ahead are remembered until they take place.
_UPCOMING_DAYS = 400


class OutlookConnector(Connector):
    """One mailbox (the signed-in user's, or with app-only access a listed one)."""

    name = "outlook"
    work_unit = "requests"

    def __init__(
        self,
        account: OutlookAccount,
        graph: Graph,
        options: ReadOptions,
        me: frozenset[str],
        *,
        mailbox: str = "",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.account = account
        self.graph = graph
        self.options = options
        self.policy = options.mail.with_me(me)
        self.me = self.policy.me
        self.mailbox = mailbox
        self.now = now
        self.read = 0
        self._prefix = f"users/{quote(mailbox)}" if mailbox else "me"

    def stream(self) -> str:
        suffix = f":{self.mailbox}" if self.mailbox else ""
        return f"outlook:{self.account.account}{suffix}"

    def work_done(self) -> int:
        return self.graph.ledger.requests

    def extract(self, cursor: str | None) -> Iterator[Record]:
        state: dict[str, Any] = json.loads(cursor) if cursor else {}
        for folder in ("inbox", "sentitems", *self.account.folders):
            folder_path = f"{self._prefix}/mailFolders/{quote(folder)}"
            start = f"{folder_path}/messages/delta?$select={MESSAGE_SELECT}"
            yield from self._delta(state, f"mail/{folder}", start, self._mail_page(folder))
        contacts = f"{self._prefix}/contacts/delta?$select={CONTACT_SELECT}"
        yield from self._delta(state, "contacts", contacts, self._contacts_page)
        yield from self._calendar(state)

    def _checkpoint(self, state: dict[str, Any]) -> Checkpoint:
        return Checkpoint(json.dumps(state, sort_keys=True))

    def _delta(
        self,
        state: dict[str, Any],
        part: str,
        start: str,
        page_records: Callable[[list[dict[str, Any]]], Iterator[Record]],
    ) -> Iterator[Record]:
        """Follow one delta from its saved link (or its start) to its next deltaLink."""
        saved = state.get(part) or {}
        url = saved.get("next") or saved.get("delta") or start
        restarted = False
        while True:
            try:
                page = self.graph.get(url, _MAIL_HEADERS)
            except CursorExpired:
                if restarted:
                    raise
                restarted = True
                self.notes.append(f"{part}: the saved delta token has expired; reading it again")
                url = start
                continue
            self.graph.ledger.pages[part] = self.graph.ledger.pages.get(part, 0) + 1
            values = [v for v in page.get("value", []) if "@removed" not in v]
            yield from page_records(values)
            if page.get("@odata.nextLink"):
                url = str(page["@odata.nextLink"])
                state[part] = {"next": url}
                yield self._checkpoint(state)
                continue
            state[part] = {"delta": str(page.get("@odata.deltaLink") or url)}
            yield self._checkpoint(state)
            return

    def _mail_page(self, folder: str) -> Callable[[list[dict[str, Any]]], Iterator[Record]]:
        def records(values: list[dict[str, Any]]) -> Iterator[Record]:
            rows: list[ExchangeRow] = []
            skipped: Counter[str] = Counter()
            problems: list[Problem] = []
            for value in values:
                message = graph_message(value, folder, self.me)
                if message is None:
                    problems.append(
                        Problem(
                            f"{self.stream()}/{folder}",
                            0,
                            f"message {value.get('id', '')}",
                            "no date that can be read",
                        )
                    )
                    continue
                reason, found = exchanges(message, self.policy, self.name)
                if reason:
                    skipped[reason] += 1
                    continue
                rows.extend(exchange_rows(found))
            self.read += len(values)
            self._report(self.graph.ledger.requests, self.read)
            yield from packed(self.name, rows, skipped)
            yield from problems

        return records

    def _contacts_page(self, values: list[dict[str, Any]]) -> Iterator[Record]:
        for value in values:
            contact = graph_contact(value, self.options.default_region)
            if contact is None:
                yield Skipped("contacts with nothing to call them by")
            else:
                yield contact

    def _calendar(self, state: dict[str, Any]) -> Iterator[Record]:
        """Meetings from the calendar view, a window from `backfill_days` ago to a year ahead.
        A meeting still to come waits in the cursor (`upcoming`) until the first run after it
        starts: a delta sends an event again only when it changes."""
        now = self.now()
        begin = (now - timedelta(days=self.account.backfill_days)).strftime("%Y-%m-%dT00:00:00Z")
        end = (now + timedelta(days=_UPCOMING_DAYS)).strftime("%Y-%m-%dT00:00:00Z")
        start = f"{self._prefix}/calendarView/delta?startDateTime={begin}&endDateTime={end}"
        upcoming = Upcoming(state.get("upcoming"))
        user_zone = zone(self.options.timezone)

        def records(values: list[dict[str, Any]]) -> Iterator[Record]:
            skipped: Counter[str] = Counter()
            for event in values:
                event_id = str(event.get("id", ""))
                upcoming.forget(event_id)
                begins = event_start(event, user_zone)
                if begins is None:
                    continue
                reason, meetings = meeting_exchanges(
                    event_attendees(event),
                    cancelled=bool(event.get("isCancelled")),
                    start=begins,
                    key=meeting_key(str(event.get("iCalUId") or event_id), begins),
                    policy=self.policy,
                    source=self.name,
                )
                if begins > now:
                    upcoming.hold(event_id, meetings)
                    continue
                if reason:
                    skipped[reason] += 1
                yield from meetings
            for reason, count in skipped.items():
                yield Skipped(reason, count=count)

        yield from self._delta(state, "calendar", start, records)
        yield from upcoming.due(now, self.name)
        state["upcoming"] = upcoming.items
        yield self._checkpoint(state)
