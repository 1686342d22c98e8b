"""Building people from the store's rows: a pure function, tested without a store."""

from __future__ import annotations

from datetime import UTC, datetime

from pipeline.model import Person
from pipeline.people import RecordRow, StoredExchange, build_people, histories, owners

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def record(
    cid: int,
    pid: int,
    name: str,
    *handles: tuple[str, str],
    source: str = "vcard",
    seq: int = 1,
    organization: str = "",
    labels: tuple[str, ...] = (),
) -> RecordRow:
    return RecordRow(cid, pid, source, name, organization, "", labels, "", seq, handles)


def people(rows: list[RecordRow], exchanges: list[StoredExchange] | None = None) -> list[Person]:
    ordered = sorted(rows, key=lambda r: (r.person_id, r.contact_id))
    return build_people(ordered, histories(owners(rows), exchanges or []))


def exchange(key: str, value: str, day: int, direction: str = "inbound") -> StoredExchange:
    at = AT.replace(day=day)
    return StoredExchange(key, "email", value, at, direction, "email", "mbox")  # type: ignore[arg-type]


def test_a_person_lists_the_most_recent_record_first_and_keeps_the_address_book_name() -> None:
    rows = [
        record(1, 1, "Ann Lee", ("email", "ann@old.example"), seq=1, organization="Old Co"),
        record(5, 1, "ann@new.example", ("email", "ann@new.example"), source="discovered", seq=9),
        record(3, 1, "Ann L.", ("email", "ann@new.example"), ("phone", "+15550100"), seq=4,
               organization="New Co", labels=("Mentors",)),
    ]  # fmt: skip
    for order in (rows, rows[::-1]):
        [person] = people(order)
        assert person.contact_id == 1
        # The discovered record is the most recent, but an address-book name wins over it.
        assert person.name == "Ann L."
        assert person.emails == ("ann@new.example", "ann@old.example")
        assert person.organizations == ("New Co", "Old Co")
        assert person.labels == ("Mentors",)
        assert person.sources == ("vcard",)


def test_a_person_known_only_from_mail_is_discovered() -> None:
    [person] = people([record(7, 7, "x@y.example", ("email", "x@y.example"),
                              source="discovered")])  # fmt: skip
    assert person.discovered
    assert person.sources == ("discovered",)


def test_a_message_to_two_addresses_of_one_person_counts_once() -> None:
    rows = [
        record(1, 1, "Ann", ("email", "ann@a.example")),
        record(2, 1, "Ann", ("email", "ann@b.example")),
        record(3, 3, "Bob", ("email", "bob@b.example")),
    ]
    exchanges = [
        exchange("<m1>", "ann@a.example", 2),
        exchange("<m1>", "ann@b.example", 2),
        exchange("<m1>", "bob@b.example", 2),
        exchange("<m2>", "ann@b.example", 5, "outbound"),
        exchange("<m3>", "nobody@else.example", 6),
    ]
    ann, bob = people(rows, exchanges)
    assert [(i.at.day, i.direction) for i in ann.history.recent] == [
        (2, "inbound"),
        (5, "outbound"),
    ]
    assert ann.two_way
    assert [i.at.day for i in bob.history.recent] == [2]


def test_a_handle_two_people_share_counts_for_the_older_person() -> None:
    rows = [
        record(4, 4, "Switchboard B", ("phone", "+15550199")),
        record(2, 2, "Switchboard A", ("phone", "+15550199")),
    ]
    call = StoredExchange("c1", "phone", "+15550199", AT, "mutual", "call", "interactions")
    a, b = people(rows, [call])
    assert (a.contact_id, a.history.total) == (2, 1)
    assert (b.contact_id, b.history.total) == (4, 0)
