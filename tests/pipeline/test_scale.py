"""The report as the store keeps it (a History a person, worked out again only for the people
a change touches) equals the report worked out from every exchange: for several report dates,
after imports, a merge and a split."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from connectors.memory import MemoryConnector
from pipeline.assignments import end_of
from pipeline.export import lines_to_csv, rows_to_csv
from pipeline.model import (
    Contact,
    Handle,
    History,
    Interaction,
    InteractionSummary,
    Person,
    exchange_order,
)
from pipeline.people import StoredExchange, build_people, histories, owners
from pipeline.report import STALENESS_COLUMNS, staleness
from pipeline.runner import import_file, resolve
from pipeline.store import Store
from rules.engine import classify_all
from rules.overrides import Overrides
from rules.schema import parse_rules

RULES = """
[[networks]]
name = "clients"
cadence_days = 30
[[networks]]
name = "regulars"
cadence_days = 90

[[rules]]
id = "clients"
network = "clients"
when = { email_domain = ["acme.example"], any_interaction_within_days = 200 }

[[rules]]
id = "regulars"
network = "regulars"
when = { min_interactions = 4, channel = ["call"] }
"""
# Before the first exchange, in the middle, today, after the last; and a date every 97 days
# between, so that every window of a report falls across where a kept history starts.
DATES = [date(2015, 1, 1), date(2020, 6, 15), date(2026, 11, 15), date(2031, 1, 1)] + [
    date(2018, 1, 1) + timedelta(days=97 * k) for k in range(35)
]


def _records(rng: random.Random) -> list[Contact]:
    people = []
    for i in range(60):
        domain = "acme.example" if i % 4 == 0 else "mail.example"
        handles = [Handle("email", f"p{i}@{domain}")]
        if i % 10 == 3:
            handles.append(Handle("email", f"p{i}.alt@home.example"))  # two addresses
        if i % 15 in (5, 6):  # a phone two people share: it counts for the older one
            handles.append(Handle("phone", f"+1555010{i // 15:02}"))
        people.append(Contact("vcard", f"uid:{i}", f"Person {i}", handles=tuple(handles)))
    return people


def _exchanges(rng: random.Random, count: int) -> list[Interaction]:
    start = datetime(2018, 1, 1, tzinfo=UTC)
    found = []
    for n in range(count):
        i = rng.randrange(60)
        at = start + timedelta(seconds=rng.randrange(int(timedelta(days=3300).total_seconds())))
        channel = rng.choice(["email", "email", "call", "meeting"])
        direction = rng.choice(["outbound", "inbound", "mutual"])
        key = f"m{n}"
        address = f"p{i}@{'acme.example' if i % 4 == 0 else 'mail.example'}"
        found.append(Interaction(at, direction, channel, Handle("email", address), "t", key))  # type: ignore[arg-type]
        if i % 10 == 3 and rng.random() < 0.5:  # the same message to their other address
            other = Handle("email", f"p{i}.alt@home.example")
            found.append(Interaction(at, direction, channel, other, "t", key))  # type: ignore[arg-type]
        if i % 15 == 6 and rng.random() < 0.5:  # a call from the shared phone
            phone = Handle("phone", f"+1555010{i // 15:02}")
            found.append(Interaction(at, "mutual", "call", phone, "t", f"{key}p"))
        if n % 50 == 0:  # exchanges at the same instant: the latest is told by exchange_order
            found.append(
                Interaction(at, "mutual", "coffee", Handle("email", address), "t", f"{key}b")
            )
    return found


def _reference(store: Store, day: date) -> pd.DataFrame:
    """The report worked out from every exchange of the store, the way before person_stats."""
    records = store._records()
    rows = [
        StoredExchange(str(k), str(kind), str(v), datetime.fromisoformat(str(at)), d, c, s)
        for k, kind, v, at, d, c, s in store.db.execute(
            "SELECT key, kind, value, at, direction, channel, source FROM interactions"
        )
    ]
    lifetime = histories(owners(records), rows)
    end = end_of(day, UTC)
    until = histories(owners(records), [r for r in rows if r.at < end])
    people = build_people(records, until, ever_two_way={p: h.two_way for p, h in lifetime.items()})
    return _report(people, day)


def _channel_counts(store: Store) -> None:
    """Every person's count of exchanges a channel is what their exchanges say."""
    rows = [
        StoredExchange(str(k), str(kind), str(v), datetime.fromisoformat(str(at)), d, c, s)
        for k, kind, v, at, d, c, s in store.db.execute(
            "SELECT key, kind, value, at, direction, channel, source FROM interactions"
        )
    ]
    lifetime = histories(owners(store._records()), rows)
    ours = {p.contact_id: p.history.channels for p in store.people()}
    assert ours == {pid: lifetime[pid].channels if pid in lifetime else () for pid in ours}
    assert sum(len(c) for c in ours.values()) > 50


def _report(people: list[Person], day: date) -> pd.DataFrame:
    ruleset, problems = parse_rules(RULES)
    assert ruleset is not None and not problems
    listed = [p for p in people if p.listed]
    assignments = classify_all(listed, ruleset, Overrides(), day, UTC)
    return staleness(listed, assignments, ruleset, day, UTC)


def _ours(store: Store, day: date) -> pd.DataFrame:
    return _report(store.people(until=end_of(day, UTC)), day)


@pytest.mark.parametrize(("seed", "summed"), [(1, False), (2, False), (3, True)])
def test_the_kept_report_equals_the_one_worked_out_from_every_exchange(
    tmp_path: Path, seed: int, summed: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if summed:  # channels counted as a large import counts them, by sums
        monkeypatch.setattr("pipeline.store._CHANNELS_SUMMED_FROM", 0)
    rng = random.Random(seed)
    with Store(tmp_path / "s.sqlite") as store:
        import_file(store, MemoryConnector(_records(rng), tmp_path / "book"))
        import_file(store, MemoryConnector(_exchanges(rng, 1500), tmp_path / "a"))
        resolve(store)
        for day in DATES:
            pd.testing.assert_frame_equal(_ours(store, day), _reference(store, day))
        _channel_counts(store)
        # More exchanges later, then a merge and its split: each changes only the people
        # it touches, and the report follows.
        import_file(store, MemoryConnector(_exchanges(rng, 300), tmp_path / "b"))
        resolve(store)
        with store.transaction():
            store.merge([1, 2])
        for day in DATES:
            pd.testing.assert_frame_equal(_ours(store, day), _reference(store, day))
        merged = next(p for p in store.people() if p.contact_id == 1)
        assert set(merged.emails) == {"p0@acme.example", "p1@mail.example"}
        with store.transaction():
            store.split(1)
        for day in DATES:
            pd.testing.assert_frame_equal(_ours(store, day), _reference(store, day))
        _channel_counts(store)


def test_a_message_to_two_addresses_of_one_person_counts_once(tmp_path: Path) -> None:
    at = datetime(2026, 3, 1, 12, tzinfo=UTC)
    book = [Contact("vcard", "1", "Ann", handles=(Handle("email", "a@x.example"),
                                                   Handle("email", "a@y.example")))]  # fmt: skip
    sent = [
        Interaction(at, "outbound", "email", Handle("email", "a@x.example"), "t", "<m1>"),
        Interaction(at, "outbound", "email", Handle("email", "a@y.example"), "t", "<m1>"),
    ]
    with Store(tmp_path / "s.sqlite") as store:
        import_file(store, MemoryConnector(book, tmp_path / "book"))
        import_file(store, MemoryConnector(sent, tmp_path / "mail"))
        resolve(store)
        [ann] = store.people()
        assert ann.history.total == 1


def test_only_the_people_a_change_touches_are_worked_out_again(tmp_path: Path) -> None:
    rng = random.Random(3)
    with Store(tmp_path / "s.sqlite") as store:
        import_file(store, MemoryConnector(_records(rng), tmp_path / "book"))
        import_file(store, MemoryConnector(_exchanges(rng, 500), tmp_path / "a"))
        resolve(store)
        at = datetime(2026, 11, 1, 12, tzinfo=UTC)
        one = [Interaction(at, "mutual", "call", Handle("email", "p5@mail.example"), "t", "x")]
        import_file(store, MemoryConnector(one, tmp_path / "one"))
        with store.transaction():
            assert store.refresh_histories() == 1


START = datetime(2020, 1, 1, tzinfo=UTC)


def test_histories_as_of_a_date_never_count_later_exchanges() -> None:
    exchanges = [
        InteractionSummary(START + timedelta(days=d), "mutual", "call", "t")
        for d in range(0, 3000, 7)
    ]
    whole = History.of(exchanges)
    for end in (datetime(2020, 6, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)):
        truncated = whole.until(end)
        expected = History.of(e for e in exchanges if e.at < end)
        if truncated is None:  # older than `recent` reaches: the store works it out instead
            assert end < (whole.recent_from or end)
            continue
        assert (truncated.total, truncated.last, truncated.first) == (
            expected.total,
            expected.last,
            expected.first,
        )


@pytest.mark.parametrize("dropped", [1, 3, 16, 17, 60, 250])
def test_a_history_cut_at_a_date_counts_what_came_before_it(dropped: int) -> None:
    """Cutting a kept history at an instant (one by one for a few exchanges after it, in C
    for many) gives every figure of the history of the exchanges before it."""
    rng = random.Random(dropped)
    exchanges = sorted(
        (
            InteractionSummary(
                START + timedelta(hours=rng.randint(0, 24 * 300)),
                rng.choice(("outbound", "inbound", "mutual")),
                rng.choice(("email", "call", "meeting", "linkedin")),
                rng.choice(("mbox", "gmail", "interactions")),
            )
            for _ in range(400)
        ),
        key=exchange_order,
    )
    whole = History.of(exchanges)
    end = exchanges[-dropped].at
    kept = [e for e in exchanges if e.at < end]
    truncated = whole.until(end)
    expected = History.of(kept)
    assert truncated is not None
    assert truncated[:7] == expected[:7]  # totals, first, last, directions, channels
    assert list(truncated.recent)[-len(expected.recent) :] == list(expected.recent)


def test_a_report_shared_between_processes_is_the_report_of_one(tmp_path: Path) -> None:
    """Parts of everyone, each read and placed in a process of its own, make the same rows as
    one process does: for several dates, with merged people in the store."""
    from pipeline.config import load_config
    from pipeline.parts import in_parts, report_rows

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text('timezone = "UTC"\n')
    (home / "networks.toml").write_text(RULES)
    config = load_config(home)
    rng = random.Random(4)
    with Store(config.store_path) as store:
        import_file(store, MemoryConnector(_records(rng), tmp_path / "book"))
        import_file(store, MemoryConnector(_exchanges(rng, 1500), tmp_path / "a"))
        resolve(store)
        with store.transaction():
            store.merge([1, 2])
            store.merge([7, 30])
    for day in DATES[:6]:
        one = report_rows(config, day, parts=1)
        three = report_rows(config, day, parts=3, lines=True)
        assert three.rows == one.rows
        # staleness.csv, its lines made by three processes: the bytes of the rows written at once
        rows_to_csv(tmp_path / "whole.csv", STALENESS_COLUMNS, one.rows)
        lines_to_csv(tmp_path / "parts.csv", STALENESS_COLUMNS, three.lines)
        assert (tmp_path / "parts.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert len(set(in_parts(_process, 3))) == 3  # three processes did the work


def _process(part: tuple[int, int]) -> int:
    import os

    return os.getpid()


@pytest.mark.parametrize("seed", range(40))
def test_a_history_with_new_exchanges_is_the_history_of_all_of_them(seed: int) -> None:
    """What a nightly import adds to a kept history equals the history of every exchange:
    new exchanges later than all, earlier than all, at the same instants, far apart."""
    rng = random.Random(seed)

    def some(count: int, spread: int) -> list[InteractionSummary]:
        return [
            InteractionSummary(
                START + timedelta(days=rng.randrange(spread), hours=rng.choice([0, 12])),
                rng.choice(["outbound", "inbound", "mutual"]),  # type: ignore[arg-type]
                rng.choice(["email", "call", "meeting"]),
                rng.choice(["mbox", "interactions"]),
            )
            for _ in range(count)
        ]

    old = some(rng.randrange(0, 40), rng.choice([30, 900, 3000]))
    new = some(rng.randrange(1, 20), rng.choice([10, 900, 3500]))
    assert History.of(old).with_new(new) == History.of(old + new)
