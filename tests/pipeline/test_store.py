"""The store on a real SQLite file: upserts, identities, migrations, atomic imports."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.memory import MemoryConnector
from pipeline import runlog
from pipeline.checks import clean
from pipeline.errors import NetgardenError
from pipeline.migrations import LATEST, MIGRATIONS
from pipeline.model import Contact, Handle, Interaction, Problem, Record
from pipeline.runner import import_file, resolve
from pipeline.store import Store


def card(name: str, email: str, phone: str = "", uid: str = "") -> Contact:
    """An address-book record as a connector yields it (handles already normalized)."""
    handles = [Handle("email", email.lower())]
    if phone:
        handles.append(Handle("phone", phone))
    return Contact("vcard", uid or f"email:{email.lower()}", name, handles=tuple(handles))


def source(
    tmp_path: Path, name: str, *records: Record | Exception, **kwargs: Any
) -> MemoryConnector:
    """A source named like a file in tmp_path, yielding these records."""
    return MemoryConnector(records, tmp_path / name, **kwargs)


def test_reimporting_the_same_file_changes_nothing(tmp_path: Path) -> None:
    records = (card("Ann", "ann@example.com"), card("Bob", "bob@example.com"))
    with Store(tmp_path / "s.sqlite") as store:
        first = import_file(store, source(tmp_path, "a", *records))
        assert first.contacts.new == 2
        dump = list(store.db.iterdump())
        again = import_file(store, source(tmp_path, "a", *records))
        assert again.unchanged
        assert list(store.db.iterdump()) == dump


@pytest.mark.parametrize(
    "odd", ["", 'say "hi"', "back\\slash", "line\u2028break", "del\x7f", "new\nline"]
)
def test_labels_and_handles_are_kept_as_the_json_encoder_writes_them(
    tmp_path: Path, odd: str
) -> None:
    plain = [
        Contact("vcard", f"u{i}", f"P{i}", handles=(Handle("email", f"p{i}@ex.com"),),
                labels=("Ünïcode ✓", "Golf Club") if i % 2 else ())
        for i in range(7)
    ]  # fmt: skip
    odd_one = Contact(
        "vcard",
        "odd",
        "Odd",
        handles=(Handle("url", f"https://ex.com/{odd}"), Handle("phone", "+15550100100")),
        labels=(f"a {odd}", "b"),
    )
    with Store(tmp_path / "s.sqlite") as store:
        import_file(store, source(tmp_path, "a", *plain, odd_one))
        written = store.db.execute("SELECT source_id, labels, handles FROM contacts").fetchall()
    encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    assert len(written) == 8
    for source_id, labels, handles in written:
        [contact] = [c for c in (*plain, odd_one) if c.source_id == source_id]
        assert labels == encode([clean(label) for label in contact.labels])
        assert handles == encode([[h.kind, h.value] for h in contact.handles])


def test_newer_export_updates_the_people_it_names(tmp_path: Path) -> None:
    old = card("Ann", "ann@example.com", "+15550100100", uid="u1")
    new = card("Ann Lee", "ann@example.com", "+15550100199", uid="u1")
    with Store(tmp_path / "s.sqlite") as store:
        import_file(store, source(tmp_path, "old", old))
        summary = import_file(store, source(tmp_path, "new", new))
        resolve(store)
        assert (summary.contacts.new, summary.contacts.updated) == (0, 1)
        [person] = store.people()
        assert person.name == "Ann Lee"
        assert person.phones == ("+15550100199",)


@pytest.mark.parametrize("between", [0, 1500])
def test_a_record_read_twice_in_one_import_keeps_only_its_last_addresses(
    tmp_path: Path, between: int
) -> None:
    # An account may give a record twice in one batch (changed while it was paged through),
    # in the same chunk of the store's writes or in two.
    ann = [Handle("email", "old@example.com"), Handle("email", "both@example.com")]
    changed = [Handle("email", "both@example.com"), Handle("email", "new@example.com")]
    filler = [card(f"P{i}", f"p{i}@example.com") for i in range(between)]
    book = source(
        tmp_path,
        "book",
        Contact("vcard", "u1", "Ann", handles=tuple(ann)),
        *filler,
        Contact("vcard", "u1", "Ann", handles=tuple(changed)),
    )
    other = source(tmp_path, "other", Contact("linkedin", "b1", "Bob", handles=(ann[0],)))
    with Store(tmp_path / "s.sqlite") as store:
        # A source new to the store takes its keys as unique (a file's reader makes them so).
        import_file(store, source(tmp_path, "earlier", card("Cy", "cy@example.com")))
        import_file(store, book)
        import_file(store, other)
        resolve(store)
        people = {p.name: p for p in store.people()}
        assert people["Ann"].emails == ("both@example.com", "new@example.com")
        assert people["Bob"].emails == ("old@example.com",)


def test_records_sharing_an_email_are_one_person_and_phones_only_suggest(tmp_path: Path) -> None:
    a = source(
        tmp_path,
        "a",
        card("Ann Lee", "Ann@Example.com"),
        card("Carl", "carl@example.com", "+15550100111"),
    )
    b = source(
        tmp_path,
        "b",
        card("Ann L.", "ann@example.com", uid="x"),
        card("Dora", "d@example.com", "+15550100111"),
    )
    with Store(tmp_path / "s.sqlite") as store:
        import_file(store, a)
        import_file(store, b)
        resolve(store)
        people = store.people()
        assert sorted(p.name for p in people) == ["Ann L.", "Carl", "Dora"]
        [suggestion] = store.suggestions()
        assert suggestion.reason == "same phone +15550100111"


def test_same_exchange_twice_counts_once(tmp_path: Path) -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    one = Interaction(at, "outbound", "email", Handle("email", "a@x.org"), "mbox", "<m1@x>")
    with Store(tmp_path / "s.sqlite") as store, store.transaction():
        seq = store.begin_import("t")
        assert store.add_interactions([one, one], seq) == 1
        assert store.add_interactions([one], seq) == 0


def test_a_failing_import_leaves_no_trace(tmp_path: Path) -> None:
    ann = card("Ann", "ann@example.com")
    broken = source(tmp_path, "a", ann, OSError("disk went away"))
    with Store(tmp_path / "s.sqlite") as store:
        with pytest.raises(OSError):
            import_file(store, broken)
        assert store.contact_count() == 0
        assert store.checkpoint(broken.stream()) is None
        # The next run repeats the work and completes it.
        assert import_file(store, source(tmp_path, "a", ann)).contacts.new == 1


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    connector = source(tmp_path, "a", card("Ann", "ann@example.com"))
    with Store(tmp_path / "s.sqlite") as store:
        summary = import_file(store, connector, dry_run=True)
        assert summary.contacts.new == 1
        assert store.contact_count() == 0
        assert store.checkpoint(connector.stream()) is None


def test_interactions_with_unknown_people_create_contacts(tmp_path: Path) -> None:
    call = Interaction(
        datetime(2026, 1, 2, 12, tzinfo=UTC),
        "outbound",
        "call",
        Handle("email", "new@x.org"),
        "interactions",
        "k1",
        "Nia",
    )
    with Store(tmp_path / "s.sqlite") as store:
        summary = import_file(store, source(tmp_path, "log", call, orphans="contact"))
        resolve(store)
        assert summary.contacts_created == 1
        [person] = store.people()
        assert (person.name, person.email, person.sources) == (
            "Nia",
            "new@x.org",
            ("memory",),
        )
        assert person.history.total == 1


def test_what_cannot_be_read_is_quarantined_and_replaced_by_the_next_read(tmp_path: Path) -> None:
    bad = Problem(str(tmp_path / "a"), 7, "BEGIN:VCARD\nFN;broken", "unreadable card")
    with Store(tmp_path / "s.sqlite") as store:
        summary = import_file(store, source(tmp_path, "a", card("Ann", "a@x.org"), bad))
        assert summary.quarantined == 1
        assert [(q.line, q.reason) for q in store.quarantined()] == [(7, "unreadable card")]
        import_file(store, source(tmp_path, "a", card("Ann", "a@x.org")))
        assert store.quarantined() == []


def _written_by(path: Path, version: int) -> sqlite3.Connection:
    """A store as the release of schema `version` wrote it, with one import run (seq 1)."""
    db = sqlite3.connect(path)
    for _, script in MIGRATIONS[:version]:
        for statement in script.split(";"):
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {version}")
    db.execute("INSERT INTO imports (seq, started_at, what) VALUES (1, '2026-01-01', 'x')")
    return db


def test_store_from_every_earlier_schema_migrates_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    for number, script in MIGRATIONS[:-1]:
        db.executescript(script)
        db.execute(f"PRAGMA user_version = {number}")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.version == LATEST
        store.upsert_contacts(
            [Contact("vcard", "k", "Ann", handles=(Handle("email", "a@x.org"),))],
            store.begin_import("t"),
        )
        assert store.contact_count() == 1


def test_a_schema_1_store_keeps_its_exchanges_through_migration_2(tmp_path: Path) -> None:
    """A store written by the first release, exchanges and all, read by this one."""
    path = tmp_path / "v1.sqlite"
    db = _written_by(path, 1)
    db.execute(
        "INSERT INTO contacts (source, source_id, name, content_hash, import_seq, handles) "
        "VALUES ('vcard', 'uid:1', 'Ann', 'h', 1, '[[\"email\",\"ann@example.com\"]]')"
    )
    db.execute("INSERT INTO email_index (email, contact_id) VALUES ('ann@example.com', 1)")
    db.executemany(
        "INSERT INTO interactions (key, kind, value, at, direction, channel, source, name, "
        "import_seq) VALUES (?, 'email', 'ann@example.com', ?, ?, 'email', 'interactions', '', 1)",
        [
            ("k1", "2026-03-01T12:00:00+00:00", "outbound"),
            ("k2", "2026-03-05T12:00:00+00:00", "inbound"),
        ],
    )
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.version == LATEST
        [ann] = store.people()
        assert [(i.at.day, i.direction) for i in ann.history.recent] == [
            (1, "outbound"),
            (5, "inbound"),
        ]
        # The same exchange again still counts once after the migration.
        again = Interaction(
            datetime(2026, 3, 1, 12, tzinfo=UTC),
            "outbound",
            "email",
            Handle("email", "ann@example.com"),
            "mbox",
            "k1",
        )
        with store.transaction():
            assert store.add_interactions([again], store.begin_import("y")) == 0
        assert store.interaction_count() == 2


def test_store_from_a_newer_netgarden_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite"
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {LATEST + 1}")
    db.close()
    with pytest.raises(NetgardenError, match="newer netgarden"):
        Store(path)


def test_a_file_that_is_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(NetgardenError, match="not a netgarden store"):
        Store(path)


def test_migration_3_sets_impossible_exchanges_aside_in_a_schema_2_store(tmp_path: Path) -> None:
    """A store written by the release before, with the exchanges it let in: dated year 1."""
    path = tmp_path / "v2.sqlite"
    db = _written_by(path, 2)
    db.execute(
        "INSERT INTO contacts (source, source_id, name, content_hash, import_seq, handles) "
        "VALUES ('vcard', 'uid:1', 'Ann', 'h', 1, '[[\"email\",\"ann@example.com\"]]')"
    )
    db.execute("INSERT INTO email_index (email, contact_id) VALUES ('ann@example.com', 1)")
    db.executemany(
        "INSERT INTO interactions (key, kind, value, at, direction, channel, source, name, "
        "import_seq) VALUES (?, 'email', 'ann@example.com', ?, 'inbound', 'email', 'mbox', '', 1)",
        [
            ("good", "2026-03-01T12:00:00+00:00"),
            ("year1", "0001-01-01T00:00:00+00:00"),
            ("far", "9999-12-31T23:59:59+00:00"),
        ],
    )
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.version == LATEST
        [ann] = store.people()
        assert [i.at.year for i in ann.history.recent] == [2026]
        assert sorted(q.raw.split()[-1] for q in store.quarantined()) == ["far", "year1"]
        assert store.inferred_me() == []


def test_migration_4_keeps_every_exchange_and_a_merge_of_a_schema_3_store(tmp_path: Path) -> None:
    """A store written by the release before person_stats: two records merged by hand, one
    message to both their addresses, an exchange nobody's yet. After the upgrade the person's
    history counts what it counted, and what comes later is kept as it comes."""
    path = tmp_path / "v3.sqlite"
    db = _written_by(path, 3)
    db.executemany(
        "INSERT INTO contacts (id, source, source_id, name, content_hash, import_seq, handles, "
        "person_id) VALUES (?, 'vcard', ?, 'Ann', 'h', 1, ?, 1)",
        [
            (1, "uid:1", '[["email","ann@work.example"]]'),
            (2, "uid:2", '[["email","ann@home.example"]]'),
        ],
    )
    db.executemany(
        "INSERT INTO email_index (email, contact_id) VALUES (?, ?)",
        [("ann@work.example", 1), ("ann@home.example", 2)],
    )
    db.execute("INSERT INTO merges VALUES (1, 2, '2026-02-01T00:00:00+00:00')")
    db.executemany(
        "INSERT INTO interactions (key, kind, value, at, direction, channel, source, name, "
        "import_seq) VALUES (?, 'email', ?, ?, ?, 'email', 'mbox', '', 1)",
        [
            ("<m1>", "ann@work.example", "2026-03-01T12:00:00+00:00", "outbound"),
            ("<m1>", "ann@home.example", "2026-03-01T12:00:00+00:00", "outbound"),
            ("<m2>", "ann@home.example", "2026-04-02T09:00:00+00:00", "inbound"),
            ("<m3>", "bob@example.com", "2026-05-01T09:00:00+00:00", "inbound"),
        ],
    )
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.version == LATEST
        assert store.interaction_count() == 4
        [ann] = store.people()
        assert (ann.history.total, ann.history.outbound, ann.history.inbound) == (2, 1, 1)
        with store.transaction():  # the upgrade worked every history out
            assert store.refresh_histories() == 0
        [ann] = store.people()
        assert ann.history.total == 2
        # Bob's record arrives later: the exchange kept from before the upgrade is his.
        import_file(store, source(tmp_path, "b", card("Bob", "bob@example.com")))
        resolve(store)
        bob = next(p for p in store.people() if p.name == "Bob")
        assert bob.history.total == 1
        assert bob.history.last is not None
        assert bob.history.last.at == datetime(2026, 5, 1, 9, tzinfo=UTC)


def test_migration_5_repacks_the_histories_of_a_schema_4_store(tmp_path: Path) -> None:
    """A store written with person_stats as JSON: its histories are worked out again, packed,
    and a report as of any date reads them as before."""
    path = tmp_path / "v4.sqlite"
    db = _written_by(path, 4)
    db.execute(
        "INSERT INTO contacts (id, source, source_id, name, content_hash, import_seq, handles) "
        "VALUES (1, 'vcard', 'uid:1', 'Ann', 'h', 1, '[[\"email\",\"ann@example.com\"]]')"
    )
    db.execute("INSERT INTO email_index (email, contact_id) VALUES ('ann@example.com', 1)")
    exchanges = [
        ("<a>", "2019-05-01T09:00:00+00:00", "outbound", "email"),
        ("<b>", "2026-03-01T12:00:00+00:00", "inbound", "email"),
        ("<c>", "2026-03-01T12:00:00+00:00", "mutual", "meeting"),
    ]
    db.executemany(
        "INSERT INTO interactions (key, kind, value, at, direction, channel, source, name, "
        "import_seq) VALUES (?, 'email', 'ann@example.com', ?, ?, ?, 'mbox', '', 1)",
        exchanges,
    )
    db.execute("INSERT INTO counters VALUES ('interactions', 3) ON CONFLICT DO UPDATE SET value=3")
    db.execute(  # what schema 4 kept, JSON lists
        "INSERT INTO person_stats VALUES (1, 3, '2019-05-01T09:00:00+00:00', "
        '\'["2026-03-01T12:00:00+00:00","mutual","meeting","mbox"]\', 1, 1, 1, '
        "'[[\"email\",2],[\"meeting\",1]]', '[]', '2025-01-25T12:00:00+00:00')"
    )
    db.execute("DELETE FROM stale_people")
    db.execute("DELETE FROM stale_handles")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.version == LATEST
        [ann] = store.people()
        history = ann.history
        assert (history.total, history.outbound, history.inbound, history.mutual) == (3, 1, 1, 1)
        assert history.last is not None
        assert (history.last.direction, history.last.channel) == ("mutual", "meeting")
        assert [e.channel for e in history.recent] == ["email", "meeting"]
        [past] = store.people(until=datetime(2020, 1, 1, tzinfo=UTC))
        assert past.history.total == 1 and past.two_way  # two-way over all time
        with store.transaction():
            assert store.refresh_histories() == 0


def test_assignments_are_written_only_when_they_change(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        first = [(1, "clients", "r1"), (2, "unassigned", "")]
        assert not store.assignments_saved(first)
        with store.transaction():
            store.save_assignments(first)
        assert store.assignments_saved(list(reversed(first)))  # whatever the order
        since = store.db.execute("SELECT classified_at FROM assignments WHERE person_id = 1")
        [(when,)] = since.fetchall()
        second = [(1, "clients", "r1"), (3, "mentors", "r2")]
        assert not store.assignments_saved(second)
        with store.transaction():
            store.save_assignments(second)
        assert store.assignments() == {1: ("clients", "r1"), 3: ("mentors", "r2")}
        kept = store.db.execute("SELECT classified_at FROM assignments WHERE person_id = 1")
        assert kept.fetchall() == [(when,)]  # unchanged: since when they have it
        # Any one change is seen: a rule, a network, two people trading places.
        for changed in (
            [(1, "clients", "r2"), (3, "mentors", "r2")],
            [(1, "mentors", "r1"), (3, "mentors", "r2")],
            [(1, "mentors", "r2"), (3, "clients", "r1")],
        ):
            assert not store.assignments_saved(changed)


def test_migration_7_splits_the_counts_of_a_schema_6_store(tmp_path: Path) -> None:
    """A store whose person_stats kept each channel with its count in `names`: the histories
    are worked out again from the exchanges, and a report reads them as before."""
    path = tmp_path / "v6.sqlite"
    db = _written_by(path, 6)
    db.execute(
        "INSERT INTO contacts (id, source, source_id, name, content_hash, import_seq, handles) "
        "VALUES (1, 'vcard', 'uid:1', 'Ann', 'h', 1, '[[\"email\",\"ann@example.com\"]]')"
    )
    db.execute("INSERT INTO email_index (email, contact_id) VALUES ('ann@example.com', 1)")
    db.executemany(
        "INSERT INTO interactions (key, kind, value, at, direction, channel, source, name, "
        "import_seq) VALUES (?, 'email', 'ann@example.com', ?, ?, ?, 'csv', '', 1)",
        [
            ("k1", "2026-03-01T12:00:00+00:00", "outbound", "email"),
            ("k2", "2026-04-01T12:00:00+00:00", "mutual", "coffee"),
            ("k3", "2026-04-02T12:00:00+00:00", "inbound", "email"),
        ],
    )
    # What schema 6 kept: counts inside `names` (and, here, figures no longer true).
    db.execute(
        "INSERT INTO person_stats VALUES (1, 9, '2026-03-01T12:00:00+00:00', "
        "'2026-04-02T12:00:00+00:00', 'inbound', 'email', 'csv', 5, 3, 1, "
        '\'[[["email",8],["coffee",1]],["email","csv"]]\', x\'\', x\'\', NULL)'
    )
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.version == LATEST
        [ann] = store.people()
        history = ann.history
        assert (history.total, history.outbound, history.inbound, history.mutual) == (3, 1, 1, 1)
        assert history.channels == (("coffee", 1), ("email", 2))
        assert [e.channel for e in history.recent] == ["email", "coffee", "email"]
    with Store(path) as store:  # read back from the new columns, as kept
        [again] = store.people()
        assert again.history == history


def test_migration_6_adds_the_run_tables_to_a_schema_5_store(tmp_path: Path) -> None:
    """A store of the release before scheduled runs were recorded: its people are kept, and
    runs are recorded from then on."""
    path = tmp_path / "v5.sqlite"
    db = _written_by(path, 5)
    db.execute(
        "INSERT INTO contacts (source, source_id, name, content_hash, import_seq, handles) "
        "VALUES ('vcard', 'uid:1', 'Ann', 'h', 1, '[[\"email\",\"ann@example.com\"]]')"
    )
    db.execute("INSERT INTO email_index (email, contact_id) VALUES ('ann@example.com', 1)")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.version == LATEST
        assert [p.name for p in store.people()] == ["Ann"]
        run_id = runlog.start(store)
        runlog.finish(store, run_id, 0)
        [record] = runlog.runs(store)
        assert (record.state, record.sources, record.networks) == ("ok", (), ())
