"""The Google connector through the real client libraries against the fake Google on loopback."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import ReadOptions
from connectors.gmail.auth import load_credentials
from connectors.gmail.client import Caller, Pacer
from connectors.gmail.sync import GmailConnector
from pipeline.config import GmailAccount
from pipeline.errors import SignInError
from pipeline.mail import MailPolicy
from pipeline.model import Checkpoint, Problem, Record
from pipeline.runner import sync_source
from pipeline.store import Store
from tests.connectors.contract import ConnectorContract, Make
from tests.fakes.google import FakeGoogle
from tests.helpers import ME, Sleeper

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def token_file(tmp_path: Path, google: FakeGoogle) -> Path:
    path = tmp_path / "token.json"
    path.write_text(
        json.dumps(
            {
                "refresh_token": "refresh-me",
                "token_uri": google.token_uri,
                "client_id": "client",
                "client_secret": "secret",
                "scopes": [
                    "https://www.googleapis.com/auth/gmail.metadata",
                    "https://www.googleapis.com/auth/contacts.readonly",
                    "https://www.googleapis.com/auth/contacts.other.readonly",
                    "https://www.googleapis.com/auth/calendar.readonly",
                ],
            }
        )
    )
    return path


def connector(
    tmp_path: Path, google: FakeGoogle, sleeper: Sleeper | None = None, **kwargs: object
) -> GmailConnector:
    account = GmailAccount("work", api_endpoint=google.root, quota_units_per_minute=15000)
    credentials = load_credentials(token_file(tmp_path, google))
    caller = Caller(15000, sleep=sleeper or Sleeper())
    return GmailConnector(
        account,
        credentials,
        ReadOptions(mail=MailPolicy()),
        caller=caller,
        now=lambda: NOW,
        **kwargs,  # type: ignore[arg-type]
    )


def mail(
    google: FakeGoogle,
    sender: str,
    to: str,
    labels: list[str],
    when: datetime,
    mid: str,
    extra: tuple[tuple[str, str], ...] = (),
) -> str:
    headers = [("From", sender), ("To", to), ("Date", "x"), ("Message-ID", f"<{mid}>")]
    headers += [("Subject", "never stored"), *extra]
    return google.add_message(headers, labels, when)


def exchanges(store: Store) -> list[tuple[str, str, str]]:
    return sorted(
        (str(k), str(v), str(d))
        for k, v, d in store.db.execute("SELECT key, value, direction FROM interactions")
    )


def test_full_then_incremental_sync(tmp_path: Path, google: FakeGoogle) -> None:
    day = NOW - timedelta(days=10)
    mail(google, "Ann <ann@example.com>", f"Me <{ME}>", ["INBOX"], day, "1@x")
    mail(google, "me@alias.example", "bob@example.com, Cy <cy@example.com>", [], day, "2@x")
    mail(google, f"Me <{ME}>", "dee@example.com", ["SENT"], day, "3@x")
    mail(google, "spam@example.com", ME, ["SPAM"], day, "4@x")
    mail(google, "news@example.com", ME, ["INBOX"], day, "5@x", (("List-Id", "<l.example>"),))
    mail(google, "old@example.com", ME, ["INBOX"], NOW - timedelta(days=400), "6@x")
    google.add_person("people/c1", ["Ann Lee"], ["ann@example.com"], ["+1 202 555 0143"])
    google.add_event(
        {
            "id": "e1",
            "iCalUID": "e1@google.com",
            "status": "confirmed",
            "start": {"dateTime": "2026-11-10T15:00:00Z"},
            "end": {"dateTime": "2026-11-10T16:00:00Z"},
            "organizer": {"email": ME, "self": True},
            "attendees": [
                {"email": ME, "self": True, "responseStatus": "accepted"},
                {"email": "eve@example.com", "responseStatus": "accepted"},
                {"email": "room@resource.example", "resource": True},
            ],
        }
    )
    with Store(tmp_path / "s.sqlite") as store:
        summary = sync_source(store, connector(tmp_path, google))
        assert exchanges(store) == [
            ("ics:e1@google.com:2026-11-10T15:00:00+00:00", "eve@example.com", "mutual"),
            ("mid:1@x", "ann@example.com", "inbound"),
            # Sent from a send-as alias without the SENT label: still sent.
            ("mid:2@x", "bob@example.com", "outbound"),
            ("mid:2@x", "cy@example.com", "outbound"),
            ("mid:3@x", "dee@example.com", "outbound"),
        ]
        assert summary.skipped["bulk or list mail"] == 1
        assert summary.contacts.new == 1
        # Spam never fetched: messages.get only for what the listing returned.
        assert google.calls["messages.get"] == 4
        assert google.max_batch <= 50
        state = json.loads(str(store.checkpoint("gmail:work")))
        assert state["mail"] == {"history": str(google.history_id)}

        google.reset_ledger()
        mail(google, "fay@example.com", ME, ["INBOX"], NOW, "7@x")
        mail(google, "spam2@example.com", ME, ["SPAM"], NOW, "8@x")
        again = sync_source(store, connector(tmp_path, google))
        assert again.interactions_new == 1
        assert google.calls["history.list"] == 1
        assert google.calls["messages.list"] == 0
        assert google.calls["messages.get"] == 1  # the spam was known from its labels
        assert again.skipped["labelled Spam"] == 1
        assert "fay@example.com" in {v for _, v, _ in exchanges(store)}


def test_an_expired_history_falls_back_to_a_full_read(tmp_path: Path, google: FakeGoogle) -> None:
    mail(google, "ann@example.com", ME, ["INBOX"], NOW - timedelta(days=1), "1@x")
    with Store(tmp_path / "s.sqlite") as store:
        sync_source(store, connector(tmp_path, google))
        mail(google, "bob@example.com", ME, ["INBOX"], NOW, "2@x")
        google.expire_history()
        source = connector(tmp_path, google)
        summary = sync_source(store, source)
        assert any("expired" in note for note in summary.notes)
        assert [v for _, v, _ in exchanges(store)] == ["ann@example.com", "bob@example.com"]
        assert summary.interactions_new == 1


def test_expired_people_and_calendar_tokens_mean_a_full_read(
    tmp_path: Path, google: FakeGoogle
) -> None:
    google.add_person("people/c1", ["Ann Lee"], ["ann@example.com"])
    with Store(tmp_path / "s.sqlite") as store:
        sync_source(store, connector(tmp_path, google))
        google.add_person("people/c2", ["Bob Roe"], ["bob@example.com"])
        google.expire_people_sync()
        google.expire_calendar_sync()
        summary = sync_source(store, connector(tmp_path, google))
        notes = " ".join(summary.notes)
        assert "connections: the sync token has expired" in notes
        assert "calendar: the sync token has expired" in notes
        assert store.contact_count() == 2


def test_faults_are_retried_and_every_message_is_recorded_once(
    tmp_path: Path, google: FakeGoogle
) -> None:
    for n in range(300):
        mail(google, f"p{n}@example.com", ME, ["INBOX"], NOW - timedelta(hours=n), f"{n}@x")
    google.fault_rate(0.1, seed=3, retry_after="2")
    sleeper = Sleeper()
    with Store(tmp_path / "s.sqlite") as store:
        summary = sync_source(store, connector(tmp_path, google, sleeper))
        assert summary.interactions_new == 300
        assert store.interaction_count() == 300
    assert sum(google.faults.values()) > 10
    # Every retry waited at least what Retry-After asked.
    retry_waits = [w for w in sleeper.waits if w >= 2]
    assert len(retry_waits) >= 1


def test_a_run_killed_after_a_checkpoint_resumes_without_loss_or_double_count(
    tmp_path: Path, google: FakeGoogle
) -> None:
    for n in range(1200):
        mail(google, f"p{n}@example.com", ME, ["INBOX"], NOW - timedelta(minutes=n), f"{n}@x")

    class Killed(Exception):
        pass

    class DiesAfterFirstPage:
        def __init__(self, inner: GmailConnector) -> None:
            self.inner = inner
            self.notes = inner.notes

        def stream(self) -> str:
            return self.inner.stream()

        def extract(self, cursor: str | None) -> Iterator[Record]:
            for record in self.inner.extract(cursor):
                yield record
                if isinstance(record, Checkpoint):
                    raise Killed

    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(Killed):
            sync_source(store, DiesAfterFirstPage(connector(tmp_path, google)))
        assert store.interaction_count() == 500  # the first page, committed with its cursor
        google.reset_ledger()
        sync_source(store, connector(tmp_path, google))
        assert store.interaction_count() == 1200
        assert google.calls["messages.get"] == 700  # the first page is not fetched again


def test_the_same_message_from_takeout_and_gmail_counts_once(
    tmp_path: Path, google: FakeGoogle
) -> None:
    archive = tmp_path / "takeout.mbox"
    archive.write_text(
        "From 1@xxx Mon Nov 09 10:00:00 +0000 2026\n"
        "X-Gmail-Labels: Inbox\nDate: Mon, 09 Nov 2026 10:00:00 +0000\n"
        f"From: ann@example.com\nTo: {ME}\nMessage-ID: <same@x>\n\nhi\n"
    )
    mail(google, "ann@example.com", ME, ["INBOX"], datetime(2026, 11, 9, 10, tzinfo=UTC), "same@x")
    from connectors.mailbox import MboxConnector
    from pipeline.runner import import_file

    with Store(tmp_path / "s.sqlite") as store:
        import_file(store, MboxConnector(archive, ReadOptions(mail=MailPolicy(frozenset({ME})))))
        summary = sync_source(store, connector(tmp_path, google))
        assert summary.interactions_new == 0
        assert store.interaction_count() == 1


def test_the_pacer_never_spends_more_than_the_quota_in_a_minute() -> None:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    pacer = Pacer(6000, clock=lambda: clock[0], sleep=sleep)
    spends: list[tuple[float, int]] = []
    for _ in range(400):
        pacer.take(250)
        spends.append((clock[0], 250))
    for start, _ in spends:
        window = sum(u for t, u in spends if start <= t < start + 60)
        assert window <= 6000
    # ...and it is not much slower than the quota allows: 100,000 units in about 16.7 minutes.
    assert clock[0] <= 100_000 / 6000 * 60 * 1.15


def test_token_refresh_goes_to_the_files_token_uri(tmp_path: Path, google: FakeGoogle) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        sync_source(store, connector(tmp_path, google))
    assert google.token_refreshes == 1
    # Nothing from the mailbox but addresses and times: no subject in the store.
    dump = "\n".join(sqlite3.connect(tmp_path / "s.sqlite").iterdump())
    assert "never stored" not in dump


def test_a_meeting_seen_before_it_starts_is_recorded_once_it_has(
    tmp_path: Path, google: FakeGoogle
) -> None:
    start = NOW + timedelta(days=2)
    google.add_event(
        {
            "id": "later",
            "iCalUID": "later@google.com",
            "status": "confirmed",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat()},
            "organizer": {"email": ME, "self": True},
            "attendees": [{"email": "eve@example.com", "responseStatus": "accepted"}],
        }
    )
    with Store(tmp_path / "s.sqlite") as store:
        sync_source(store, connector(tmp_path, google))
        assert store.interaction_count() == 0  # not yet
        later = connector(tmp_path, google)
        later.now = lambda: NOW + timedelta(days=3)
        sync_source(store, later)  # the event did not change: the sync token sends nothing
        assert exchanges(store) == [
            (f"ics:later@google.com:{start.isoformat()}", "eve@example.com", "mutual")
        ]


class TestContract(ConnectorContract):
    """The connector contract, against the fake Google."""

    refusal = SignInError

    def located(self, problem: Problem) -> bool:
        return problem.file == "gmail:work" and problem.raw.startswith("message ")

    @pytest.fixture
    def fresh(self, tmp_path: Path, google: FakeGoogle) -> Make:
        mail(google, "Ann <ann@example.com>", ME, ["INBOX"], NOW - timedelta(days=2), "c1@x")
        google.add_person("people/c1", ["Ann Lee"], ["ann@example.com"], [])
        return lambda: connector(tmp_path, google)

    @pytest.fixture
    def damaged(self, tmp_path: Path, google: FakeGoogle) -> Make:
        mail(google, "Ann <ann@example.com>", ME, ["INBOX"], NOW - timedelta(days=2), "c1@x")
        bad = mail(google, "Bob <bob@example.com>", ME, ["INBOX"], NOW - timedelta(days=1), "c2@x")
        google.damage_message(bad, internalDate=None)
        return lambda: connector(tmp_path, google)

    @pytest.fixture
    def unreadable(self, tmp_path: Path) -> Iterator[Make]:
        # The account's refresh token is no longer accepted (revoked, or expired).
        with FakeGoogle(ME, refresh_token="another-token") as revoked:
            yield lambda: connector(tmp_path, revoked)
