"""The Microsoft connector through the real msal and requests against the fake Microsoft
(identity platform and Graph over TLS on loopback)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.base import ReadOptions
from connectors.outlook.auth import device_sign_in, load_cache, public_app, user_token
from connectors.outlook.graph import Graph
from connectors.outlook.sync import OutlookConnector
from pipeline.config import OutlookAccount
from pipeline.errors import SourceError
from pipeline.mail import MailPolicy
from pipeline.model import Checkpoint, Problem, Record
from pipeline.runner import sync_source
from pipeline.store import Store
from tests.connectors.contract import ConnectorContract, Make
from tests.fakes.microsoft import FakeMicrosoft
from tests.helpers import ME, Sleeper

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def account(microsoft: FakeMicrosoft, **settings: object) -> OutlookAccount:
    return OutlookAccount(
        "work",
        client_id="client-id",
        authority=microsoft.authority,
        graph_endpoint=microsoft.graph_endpoint,
        **settings,  # type: ignore[arg-type]
    )


def signed_in(microsoft: FakeMicrosoft, settings: OutlookAccount) -> tuple[Graph, str]:
    """A device-code sign-in (approved as soon as the code is shown), then a Graph client."""
    cache = load_cache(Path("/nonexistent/cache.json"))
    app = public_app(settings, cache)
    device_sign_in(app, lambda message: microsoft.approve_device())
    token, username = user_token(app, "test")
    assert token
    return Graph(
        settings.graph_url, lambda fresh: user_token(app, "test", fresh=fresh)[0]
    ), username


def connector(microsoft: FakeMicrosoft, sleeper: Sleeper | None = None) -> OutlookConnector:
    settings = account(microsoft)
    graph, username = signed_in(microsoft, settings)
    if sleeper is not None:
        graph.sleep = sleeper
    return OutlookConnector(
        settings, graph, ReadOptions(mail=MailPolicy()), frozenset({username}), now=lambda: NOW
    )


def deliver(microsoft: FakeMicrosoft, n: int, *, start: int = 0, folder: str = "inbox") -> None:
    for i in range(start, start + n):
        when = NOW - timedelta(hours=i + 1)
        sender, to = (
            (("Me", ME), [(f"Person {i}", f"p{i}@example.com")])
            if folder == "sentitems"
            else ((f"Person {i}", f"p{i}@example.com"), [("Me", ME)])
        )
        microsoft.add_message(
            folder,
            from_=sender,
            to=to,
            sent=when,
            received=when,
            internet_message_id=f"<{folder}-{i}@example.com>",
        )


def rows(store: Store) -> list[tuple[str, str, str]]:
    return sorted(
        (str(k), str(v), str(d))
        for k, v, d in store.db.execute("SELECT key, value, direction FROM interactions")
    )


def test_full_sync_of_mail_contacts_and_meetings(tmp_path: Path, microsoft: FakeMicrosoft) -> None:
    deliver(microsoft, 3)
    deliver(microsoft, 2, start=10, folder="sentitems")
    microsoft.add_message(
        "inbox",
        from_=("News", "news@letters.example"),
        to=[("Me", ME)],
        sent=NOW - timedelta(days=2),
        received=NOW - timedelta(days=2),
        internet_message_id="<news@x>",
        headers={"List-Unsubscribe": "<mailto:leave@letters.example>"},
    )
    microsoft.add_contact(
        "Ann Lee", emails=[("Ann Lee", "ann@example.com")], company_name="Acme", job_title="CTO"
    )
    microsoft.add_event(
        "Review",
        start=NOW - timedelta(days=3),
        end=NOW - timedelta(days=3) + timedelta(hours=1),
        organizer=("Me", ME),
        attendees=[
            (("Eve", "eve@example.com"), "required", "accepted"),
            (("Bob", "bob@example.com"), "required", "declined"),
            (("Room 1", "room@example.com"), "resource", "accepted"),
        ],
        ical_uid="review-uid",
    )
    source = connector(microsoft)
    with Store(tmp_path / "s.sqlite") as store:
        summary = sync_source(store, source)
        found = rows(store)
    assert ("mid:inbox-0@example.com", "p0@example.com", "inbound") in found
    assert ("mid:sentitems-10@example.com", "p10@example.com", "outbound") in found
    meeting = [r for r in found if r[2] == "mutual"]
    assert meeting == [
        (f"ics:review-uid:{(NOW - timedelta(days=3)).isoformat()}", "eve@example.com", "mutual")
    ]
    assert summary.skipped["bulk or list mail"] == 1
    assert summary.contacts.new == 1
    assert len(found) == 6
    # One request per page the server served: nothing fetched twice, no extra calls.
    assert source.graph.ledger.requests <= 1.05 * sum(microsoft.pages.values())


def test_a_full_sync_follows_small_pages_then_an_incremental_run_is_cheap(
    tmp_path: Path, microsoft: FakeMicrosoft
) -> None:
    microsoft.max_page_size = 10  # the server gives fewer than the 1000 asked for
    deliver(microsoft, 95)
    with Store(tmp_path / "s.sqlite") as store:
        first = connector(microsoft)
        sync_source(store, first)
        assert store.interaction_count() == 95
        assert microsoft.pages["inbox"] == 10
        assert first.graph.ledger.requests <= 1.05 * sum(microsoft.pages.values())
        deliver(microsoft, 100, start=200)
        microsoft.max_page_size = 1000
        second = connector(microsoft)
        before = second.graph.ledger.requests
        sync_source(store, second)
        assert store.interaction_count() == 195
        parts = 4  # inbox, sentitems, contacts, calendar
        assert second.graph.ledger.requests - before <= 3 * parts


def test_an_expired_delta_token_means_a_full_read_said_once(
    tmp_path: Path, microsoft: FakeMicrosoft
) -> None:
    deliver(microsoft, 5)
    with Store(tmp_path / "s.sqlite") as store:
        sync_source(store, connector(microsoft))
        deliver(microsoft, 2, start=50)
        microsoft.expire_delta("inbox")
        summary = sync_source(store, connector(microsoft))
        assert any("mail/inbox: the saved delta token has expired" in n for n in summary.notes)
        assert summary.interactions_new == 2
        assert store.interaction_count() == 7


def test_throttled_calls_are_retried_after_their_retry_after_and_counted_once(
    tmp_path: Path, microsoft: FakeMicrosoft
) -> None:
    microsoft.max_page_size = 5
    deliver(microsoft, 60)
    microsoft.throttle_rate(0.1, seed=2, retry_after="0")
    with Store(tmp_path / "s.sqlite") as store:
        summary = sync_source(store, connector(microsoft))
        assert store.interaction_count() == 60
        assert summary.interactions_new == 60
    assert sum(microsoft.throttled.values()) > 0
    assert microsoft.early_retries == 0


def test_no_request_goes_out_before_retry_after(tmp_path: Path, microsoft: FakeMicrosoft) -> None:
    deliver(microsoft, 3)
    microsoft.fail_next(1, 429, retry_after="2")
    sleeper = Sleeper()
    with Store(tmp_path / "s.sqlite") as store:
        sync_source(store, connector(microsoft, sleeper))
        assert store.interaction_count() == 3
    assert any(wait >= 1.5 for wait in sleeper.waits)


def test_a_killed_run_resumes_from_its_last_page(tmp_path: Path, microsoft: FakeMicrosoft) -> None:
    microsoft.max_page_size = 10
    deliver(microsoft, 40)

    class Killed(Exception):
        pass

    class DiesAfterTwoPages:
        def __init__(self, inner: OutlookConnector) -> None:
            self.inner = inner
            self.notes = inner.notes

        def stream(self) -> str:
            return self.inner.stream()

        def extract(self, cursor: str | None) -> Iterator[Record]:
            seen = 0
            for record in self.inner.extract(cursor):
                yield record
                if isinstance(record, Checkpoint):
                    seen += 1
                    if seen == 2:
                        raise Killed

    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(Killed):
            sync_source(store, DiesAfterTwoPages(connector(microsoft)))
        assert store.interaction_count() == 20
        state = json.loads(str(store.checkpoint("outlook:work")))
        assert "next" in state["mail/inbox"]
        sync_source(store, connector(microsoft))
        assert store.interaction_count() == 40


def test_a_meeting_seen_before_it_starts_is_recorded_once_it_has(
    tmp_path: Path, microsoft: FakeMicrosoft
) -> None:
    start = NOW + timedelta(days=2)
    microsoft.add_event(
        "Later",
        start=start,
        end=start + timedelta(hours=1),
        organizer=("Me", ME),
        attendees=[(("Eve", "eve@example.com"), "required", "accepted")],
        ical_uid="later-uid",
    )
    with Store(tmp_path / "s.sqlite") as store:
        sync_source(store, connector(microsoft))
        assert store.interaction_count() == 0
        later = connector(microsoft)
        later.now = lambda: NOW + timedelta(days=3)
        sync_source(store, later)
        assert rows(store) == [(f"ics:later-uid:{start.isoformat()}", "eve@example.com", "mutual")]


class TestContract(ConnectorContract):
    """The connector contract, against the fake Microsoft."""

    refusal = SourceError

    def located(self, problem: Problem) -> bool:
        return problem.file == "outlook:work/inbox" and problem.raw.startswith("message ")

    @pytest.fixture
    def fresh(self, microsoft: FakeMicrosoft) -> Make:
        deliver(microsoft, 2)
        return lambda: connector(microsoft)

    @pytest.fixture
    def damaged(self, microsoft: FakeMicrosoft) -> Make:
        deliver(microsoft, 1)
        bad = microsoft.add_message(
            "inbox",
            from_=("Bob", "bob@example.com"),
            to=[("Me", ME)],
            sent=NOW - timedelta(days=1),
            received=NOW - timedelta(days=1),
            internet_message_id="<bad@example.com>",
        )
        microsoft.update_message(bad, receivedDateTime="not a date", sentDateTime=None)
        return lambda: connector(microsoft)

    @pytest.fixture
    def unreadable(self, microsoft: FakeMicrosoft) -> Make:
        def revoked() -> OutlookConnector:
            # Signed in once; since then the organisation revoked every token.
            made = connector(microsoft)
            microsoft.revoke_access_tokens()
            microsoft.revoke_refresh_tokens()
            return made

        return revoked
