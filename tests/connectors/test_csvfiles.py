"""CSV exports: each fixture under tests/fixtures/csv yields what its README says."""

from __future__ import annotations

import hashlib
import io
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors import detect
from connectors.base import FileConnector, ReadOptions
from connectors.csvfiles import (
    GoogleCsvConnector,
    InteractionsCsvConnector,
    LinkedInConnector,
    OutlookCsvConnector,
    ThunderbirdCsvConnector,
)
from pipeline.errors import FormatError
from pipeline.model import Contact, Interaction, Problem, Record, Skipped
from tests.connectors.contract import FileContract
from tests.helpers import FIXTURES, unpacked

CSV = FIXTURES / "csv"
UTC_OPTIONS = ReadOptions(default_region="US", timezone="UTC")


def records(name: str) -> list[Record]:
    path = CSV / name
    cls = detect(path)
    return list(cls(path, UTC_OPTIONS).extract(None))


def people(name: str) -> list[tuple[str, tuple[str, ...], int, str]]:
    return [
        (c.name, c.emails, len(c.phones), c.organization)
        for c in records(name)
        if isinstance(c, Contact)
    ]


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("google_current.csv", GoogleCsvConnector),
        ("google_legacy.csv", GoogleCsvConnector),
        ("outlook_desktop.csv", OutlookCsvConnector),
        ("outlook_com.csv", OutlookCsvConnector),
        ("linkedin_connections.csv", LinkedInConnector),
        ("linkedin_connections_plain.csv", LinkedInConnector),
        ("thunderbird.csv", ThunderbirdCsvConnector),
        ("interactions.csv", InteractionsCsvConnector),
    ],
)
def test_format_is_detected_from_content(name: str, cls: type[FileConnector]) -> None:
    assert detect(CSV / name) is cls


def test_google_current_format_splits_multi_values_and_keeps_labels() -> None:
    assert people("google_current.csv") == [
        ("Ana María Núñez", ("ana.nunez@acme.test", "ana.maria@example.org"), 2, "Acme Test Co"),
        ("Björn Ødegård", ("bjorn@example.com", "b.odegard@acme.test"), 1, "Example Nordic AS"),
        ("Robert Fox, Jr.", ("bob.fox@example.net",), 0, "Fox & Hound Ltd"),
        ("info@example.org", ("info@example.org",), 0, ""),
        ("Zoë Çelik", ("zoe.celik@example.com",), 1, "Örnek Ltd"),
    ]
    labels = [c.labels for c in records("google_current.csv") if isinstance(c, Contact)]
    assert labels == [("Clients",), ("starred",), (), (), ("Clients",)]


def test_google_legacy_utf16_export() -> None:
    assert (CSV / "google_legacy.csv").read_bytes()[:2] == b"\xff\xfe"
    assert people("google_legacy.csv") == [
        (
            "Marie-Claire Dubois",
            ("marie-claire.dubois@acme.test", "mc.dubois@example.org"),
            1,
            "Acme Test SARL",
        ),
        ("Kenji Sato", ("kenji@example.com", "k.sato@example.net"), 2, ""),
        ("Peter O'Neil, PhD", ("peter.oneil@example.com",), 1, "Example Labs, Inc."),
        ("newsletter@example.org", ("newsletter@example.org",), 0, ""),
    ]


def test_outlook_desktop_cp1252_and_exchange_addresses() -> None:
    assert people("outlook_desktop.csv") == [
        ("Renée Müller", ("renee.mueller@example.com",), 2, "Müller & Söhne GmbH"),
        # X.500 address: not an e-mail; the real one comes from the display name.
        ("Jane Roe", ("jane.roe@example.com",), 1, "Example Corp"),
        ("François Lefèvre", ("francois.lefevre@example.org", "f.lefevre@acme.test"), 2, ""),
        ("Dr. Sam O'Connor Jr.", ("sam@example.org",), 0, "O'Connor, Walsh & Partners"),
    ]
    found = [c for c in records("outlook_desktop.csv") if isinstance(c, Contact)]
    assert found[0].labels == ("Clients", "VIP")
    assert all(not e.startswith("/") for c in found for e in c.emails)


def test_outlook_com_export() -> None:
    assert people("outlook_com.csv") == [
        ("Łukasz Kowalski", ("lukasz.kowalski@example.com",), 1, "Acme Test sp. z o.o."),
        ("Chloé Martin", ("chloe.martin@example.org", "chloe@acme.test"), 2, ""),
        ("Wei Chen", ("wei.chen@acme.test",), 0, "Chen, Lin & Co."),
        ("billing@example.org", ("billing@example.org",), 0, ""),
    ]


def test_linkedin_with_preamble_gives_contacts_and_connection_dates() -> None:
    found = records("linkedin_connections.csv")
    assert people("linkedin_connections.csv") == [
        ("Priya Raman", (), 0, "Self-employed"),
        ("Amara Okafor", (), 0, "Acme Test"),
        ("Lucía Fernández", ("lucia.fernandez@example.com",), 0, "Fernández, Ortiz & Asociados"),
        ("Jonas Weber", (), 0, "Example GmbH"),
    ]
    exchanges = [r for r in found if isinstance(r, Interaction)]
    assert [(i.at.date().isoformat(), i.channel, i.direction) for i in exchanges] == [
        ("2024-10-09", "linkedin", "mutual"),
        ("2024-03-04", "linkedin", "mutual"),
        ("2023-01-15", "linkedin", "mutual"),
        ("2021-12-01", "linkedin", "mutual"),
    ]
    # A profile without an e-mail is reached through its URL handle.
    assert exchanges[0].counterpart.kind == "url"
    assert exchanges[2].counterpart.value == "lucia.fernandez@example.com"
    skipped = [r for r in found if isinstance(r, Skipped)]
    assert [s.line for s in skipped] == [8]


def test_linkedin_without_preamble() -> None:
    assert [p[0] for p in people("linkedin_connections_plain.csv")] == [
        "Kwame Mensah",
        "Sofia Rossi",
        "Émile Durand",
    ]


def test_thunderbird_trailing_comma() -> None:
    assert people("thunderbird.csv") == [
        ("Hélène Garnier", ("helene.garnier@example.com", "h.garnier@example.org"), 2, "Acme Test"),
        ("Jordan Lee", ("jordan@example.com",), 0, ""),
        ("Baker, Tom", ("tom.baker@acme.test",), 1, 'Baker "Bits" Ltd'),
        ("noreply@example.org", ("noreply@example.org",), 0, ""),
    ]
    assert not [r for r in records("thunderbird.csv") if isinstance(r, Problem)]


def test_interactions_csv_quarantines_the_bad_row_with_its_line() -> None:
    found = records("interactions.csv")
    problems = [r for r in found if isinstance(r, Problem)]
    assert [(p.line, p.reason) for p in problems] == [(5, "unreadable date 'not-a-date'")]
    assert "not-a-date,helene.garnier@example.com" in problems[0].raw
    exchanges = [r for r in unpacked(found) if isinstance(r, Interaction)]
    assert [(i.counterpart.value, i.direction, i.channel) for i in exchanges] == [
        ("ana.nunez@acme.test", "outbound", "email"),
        ("renee.mueller@example.com", "mutual", "meeting"),
        ("lucia.fernandez@example.com", "inbound", "call"),
        ("jane.roe@example.com", "mutual", "coffee"),
        ("kenji@example.com", "inbound", "email"),
    ]
    # A full timestamp keeps its offset; a bare date is noon in the user's zone.
    assert exchanges[1].at == datetime(2026, 3, 4, 14, 30, tzinfo=UTC)
    assert exchanges[0].at == datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def test_identical_interaction_rows_are_two_exchanges_with_stable_keys(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "date,email,direction,channel\n2026-01-02,a@x.org,outbound,call\n" * 1
        + "2026-01-02,a@x.org,outbound,call\n"
    )
    first = [
        r.key
        for r in unpacked(InteractionsCsvConnector(path).extract(None))
        if isinstance(r, Interaction)
    ]
    again = [
        r.key
        for r in unpacked(InteractionsCsvConnector(path).extract(None))
        if isinstance(r, Interaction)
    ]
    assert len(set(first)) == 2
    assert first == again


def _is_exchange(record: object) -> bool:
    return isinstance(record, Interaction)


def _log(rows: list[tuple[str, str]]) -> str:
    return "date,email,direction,channel\n" + "".join(f"{d},{e},outbound,call\n" for d, e in rows)


@pytest.mark.parametrize("order", ["forward", "backward", "shuffled", "late break"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_interaction_keys_count_repeats_in_any_row_order(
    tmp_path: Path, order: str, seed: int
) -> None:
    """Keys are what counting every row gives (what earlier imports stored), whether the file is
    in date order, the other way round, shuffled, or out of order only near its end."""
    rng = random.Random(seed)
    days = [f"2026-01-{d:02}" for d in range(1, 29)]
    rows = [(rng.choice(days), f"{rng.choice('abc')}@x.org") for _ in range(400)]
    if order == "forward":
        rows.sort()
    elif order == "backward":
        rows.sort(reverse=True)
    elif order == "late break":
        rows.sort()
        rows.append(rows[17])  # a repeat of a row long gone, after the file went back in time
        rows.insert(350, rows[3])
    path = tmp_path / "log.csv"
    path.write_text(_log(rows))
    every_row = [
        r.key
        for r in unpacked(InteractionsCsvConnector(path).read(io.StringIO(path.read_text())))
        if isinstance(r, Interaction)
    ]
    keys = [
        r.key
        for r in unpacked(InteractionsCsvConnector(path).extract(None))
        if isinstance(r, Interaction)
    ]
    assert keys == every_row
    assert len(set(keys)) == len(rows)  # identical rows are separate exchanges
    # A row added at the end leaves every earlier key as it was.
    path.write_text(_log([*rows, rows[0]]))
    grown = [
        r.key
        for r in unpacked(InteractionsCsvConnector(path).extract(None))
        if isinstance(r, Interaction)
    ]
    assert grown[:-1] == keys and grown[-1] not in keys


def test_unknown_header_is_one_clear_error() -> None:
    with pytest.raises(FormatError, match="unrecognized CSV header 'foo,bar,baz'"):
        detect(CSV / "unknown_header.csv")


def test_forced_format_that_does_not_fit_is_an_error() -> None:
    with pytest.raises(FormatError, match="no header row of a LinkedIn"):
        list(LinkedInConnector(CSV / "thunderbird.csv").extract(None))


class TestGoogleContract(FileContract):
    format = "google_csv"


class TestOutlookContract(FileContract):
    format = "outlook_csv"


class TestLinkedInContract(FileContract):
    format = "linkedin"


class TestThunderbirdContract(FileContract):
    format = "thunderbird"


class TestInteractionsContract(FileContract):
    format = "interactions"


def _read(path: Path, connector: type[FileConnector] | None = None) -> list[Record]:
    return list((connector or detect(path))(path).extract(None))


def test_bytes_no_code_page_reads_cost_their_row_only(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    rows = [b"First Name,Last Name,Display Name,Primary Email"]
    rows += [b"Ann,Lee,Ann Lee,ann@example.com", b"Bo\x81\x8d,Roe,Bo Roe,bo@example.com"]
    rows += [b"Cy,Doe,Cy Doe,cy@example.com"]
    path.write_bytes(b"\r\n".join(rows) + b"\r\n")
    found = _read(path)
    assert [c.name for c in found if isinstance(c, Contact)] == ["Ann Lee", "Cy Doe"]
    [problem] = [r for r in found if isinstance(r, Problem)]
    assert problem.line == 3 and "neither UTF-8 nor cp1252" in problem.reason
    assert "\ufffd" in problem.raw


def test_a_stray_quote_costs_its_row_and_the_reader_goes_on(tmp_path: Path) -> None:
    header = "First Name,Last Name,Display Name,Primary Email"
    lines = [header] + [f"P{i},X,P{i} X,p{i}@example.com" for i in range(40)]
    lines[11] = '"P10,X,P10 X,p10@example.com'  # a quote opened and never closed
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n")
    connector = detect(path)(path)
    found = list(connector.extract(None))
    names = [c.name for c in found if isinstance(c, Contact)]
    assert len(names) == 39 and "P10 X" not in names and names[-1] == "P39 X"
    [problem] = [r for r in found if isinstance(r, Problem)]
    assert problem.line == 12 and "stray quote" in problem.reason
    assert any("line 12: a stray quote" in note for note in connector.notes)


def test_a_stray_quote_past_the_longest_value_costs_its_row_only(tmp_path: Path) -> None:
    """A quote that never closes runs on until csv's limit on one value (128 KB): the rows it
    swallowed are read again, not lost with it."""
    lines = ["date,email,direction,channel"]
    lines += [f"2025-01-02,p{i}@example.com,outbound,call" for i in range(6000)]
    lines[10] = '2025-01-02,"p9@example.com,outbound,call'
    path = tmp_path / "log.csv"
    path.write_text("\n".join(lines) + "\n")
    connector = InteractionsCsvConnector(path)
    found = unpacked(connector.extract(None))
    exchanges = [r for r in found if isinstance(r, Interaction)]
    assert len(exchanges) == 5999 and exchanges[-1].counterpart.value == "p5999@example.com"
    [problem] = [r for r in found if isinstance(r, Problem)]
    assert problem.line == 11 and problem.raw == lines[10]
    assert "stray quote ran on over the" in problem.reason
    assert any(note.startswith("line 11: a stray quote ran on") for note in connector.notes)


def test_a_google_csv_stray_quote_merges_no_one(tmp_path: Path) -> None:
    import csv
    import io

    header = next(csv.reader(io.StringIO((CSV / "google_current.csv").read_text("utf-8"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    for i in range(6):
        writer.writerow(
            {"First Name": f"Ana{i}", "Last Name": "Roe", "E-mail 1 - Value": f"a{i}@x.org",
             "Labels": "* myContacts", "Notes": "met at the fair, Lyon, 2019"}
        )  # fmt: skip
    lines = out.getvalue().splitlines()
    lines[3] = '"' + lines[3]  # a stray quote at the start of row 3
    path = tmp_path / "google.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = _read(path)
    people = [c for c in found if isinstance(c, Contact)]
    assert [c.name for c in people] == ["Ana0 Roe", "Ana1 Roe", "Ana3 Roe", "Ana4 Roe", "Ana5 Roe"]
    assert [r.line for r in found if isinstance(r, Problem)] == [4]


def test_a_last_row_cut_mid_value_is_kept_and_said(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "First Name,Last Name,Display Name,Primary Email,Notes\n"
        "Ann,Lee,Ann Lee,ann@example.com,x\n"
        "Bo,Roe,Bo Roe,bo@quillfeather.ex"
    )
    connector = detect(path)(path)
    found = list(connector.extract(None))
    assert [c.emails for c in found if isinstance(c, Contact)][-1] == ("bo@quillfeather.ex",)
    assert any("line 3: the file ends in the middle of this row" in n for n in connector.notes)


@pytest.mark.parametrize(
    "date",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "1969-07-20", "2999-01-01"],
)
def test_a_date_no_exchange_can_have_is_a_problem(tmp_path: Path, date: str) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        f"date,email,direction,channel\n{date},ann@example.com,mutual,call\n"
        "2026-11-02,bo@example.com,mutual,call\n"
    )
    found = _read(path)
    exchanges = [i for i in unpacked(found) if isinstance(i, Interaction)]
    assert [i.counterpart.value for i in exchanges] == ["bo@example.com"]
    [problem] = [r for r in found if isinstance(r, Problem)]
    assert problem.line == 2


@pytest.mark.parametrize(
    ("written", "instant"),
    [
        ("2026-03-01T12:00:00Z", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("2026-03-01T12:00:00+00:00", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("2026-03-01T14:00:00+02:00", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("2026-03-01T12:00:00.250000Z", datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2026-03-01", datetime(2026, 3, 1, 12, tzinfo=UTC)),
    ],
)
def test_interaction_keys_are_what_earlier_releases_stored(
    tmp_path: Path, written: str, instant: datetime
) -> None:
    """The key of a row is the digest of its instant's UTC ISO text, address, direction and
    channel, and its occurrence: a store filled by an earlier release gets nothing twice."""
    path = tmp_path / "log.csv"
    path.write_text(f"date,email,direction,channel\n{written},Ann@X.org,outbound,Call\n")
    [exchange] = [
        r for r in unpacked(InteractionsCsvConnector(path, UTC_OPTIONS).extract(None))
        if isinstance(r, Interaction)
    ]  # fmt: skip
    identity = f"{instant.isoformat()}|ann@x.org|outbound|call"
    assert exchange.key == f"interactions:{hashlib.sha1(identity.encode()).hexdigest()[:20]}:1"
    assert exchange.at == instant.replace(microsecond=0)


@pytest.mark.parametrize(
    "written", ["2026-02-30T12:00:00Z", "2026-03-01T24:00:00Z", "0000-03-01T12:00:00Z"]
)
def test_a_timestamp_of_no_real_instant_is_a_problem(tmp_path: Path, written: str) -> None:
    path = tmp_path / "log.csv"
    path.write_text(f"date,email\n{written},ann@x.org\n2026-03-01T12:00:00Z,bo@x.org\n")
    found = unpacked(InteractionsCsvConnector(path).extract(None))
    assert [r.counterpart.value for r in found if isinstance(r, Interaction)] == ["bo@x.org"]
    [problem] = [r for r in found if isinstance(r, Problem)]
    assert problem.line == 2 and written in problem.raw
