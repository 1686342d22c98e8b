"""Mail archives and calendars from the command line: the report's history, discovered people,
noise counts, settings, and re-imports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from tests.helpers import message, rows, run

CARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:1\r\nFN:Ada Client\r\nORG:Acme\r\n"
    "EMAIL:ada@acme.com\r\nEND:VCARD\r\n"
)
ICS = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
    "BEGIN:VEVENT\r\nUID:lunch@x\r\nDTSTART:20261105T120000Z\r\n"
    "ORGANIZER:mailto:me@example.com\r\nATTENDEE;CN=Gil Meet:mailto:gil@example.com\r\n"
    "END:VEVENT\r\nEND:VCALENDAR\r\n"
)


@pytest.fixture
def mail(tmp_path: Path, home: Path) -> dict[str, Path]:
    home.mkdir(parents=True)
    (home / "config.toml").write_text('me = ["me@example.com", "me@work.example"]\n')
    cards = tmp_path / "contacts.vcf"
    cards.write_text(CARDS, newline="")
    archive = tmp_path / "All mail Including Spam and Trash.mbox"
    archive.write_text(
        "".join(
            [
                # Ada (address book): the user wrote on 1 Oct, she answered on 3 Oct.
                message(
                    mid="<1@x>",
                    sender="me@work.example",
                    to="Ada <ADA@acme.com>",
                    date="Thu, 01 Oct 2026 09:00:00 +0000",
                    labels="Sent",
                ),
                message(
                    mid="<2@x>",
                    sender="Ada <ada@acme.com>",
                    date="Sat, 03 Oct 2026 09:00:00 +0000",
                    labels="Inbox",
                ),
                # Dee: two-way, not in the address book.
                message(
                    mid="<3@x>",
                    sender="me@example.com",
                    to="Dee Found <dee@example.com>",
                    date="Mon, 02 Nov 2026 09:00:00 +0000",
                    labels="Sent",
                ),
                message(
                    mid="<4@x>",
                    sender="Dee Found <dee@example.com>",
                    date="Tue, 03 Nov 2026 09:00:00 +0000",
                    labels="Inbox",
                ),
                message(
                    mid="<5@x>",
                    sender="Dee Found <dee@example.com>",
                    date="Wed, 04 Nov 2026 09:00:00 +0000",
                    labels="Inbox",
                ),
                # Fay wrote once and never heard back: one-way.
                message(
                    mid="<6@x>",
                    sender="Fay Once <fay@example.com>",
                    date="Thu, 05 Nov 2026 09:00:00 +0000",
                ),
                message(mid="<7@x>", sender="deals@shop.example", extra="Precedence: bulk"),
                message(mid="<8@x>", sender="noreply@service.example"),
                message(mid="<9@x>", labels="Spam"),
            ]
        ),
        encoding="utf-8",
    )
    meetings = tmp_path / "meetings.ics"
    meetings.write_text(ICS, newline="")
    return {"cards": cards, "archive": archive, "meetings": meetings}


def test_mail_and_meetings_feed_the_report_and_discover_people(
    mail: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    result = run("import", str(mail["cards"]), str(mail["archive"]), str(mail["meetings"]))
    assert result.exit_code == 0, result.output
    for counted in ("1 bulk or list mail", "1 labelled Spam", "1 no-reply or role senders"):
        assert counted in result.stderr
    assert "2 people discovered" in result.stderr  # Dee and Fay
    assert "1 person discovered" in result.stderr  # Gil, from the calendar

    assert run("report", "--as-of", "2026-11-15", "--out", str(tmp_path)).exit_code == 0
    report = {r["email"]: r for r in rows(tmp_path / "staleness.csv")}
    # Fay wrote once and never heard back: not a relationship, not in the report.
    assert set(report) == {"ada@acme.com", "dee@example.com", "gil@example.com"}
    ada = report["ada@acme.com"]
    assert (ada["last_contact"], ada["last_direction"], ada["last_channel"]) == (
        "2026-10-03",
        "inbound",
        "email",
    )
    assert ada["interactions_90d"] == "2"
    assert ada["sources"] == "vcard"
    dee = report["dee@example.com"]
    assert (dee["name"], dee["sources"], dee["interactions_total"]) == (
        "Dee Found",
        "discovered",
        "3",
    )
    gil = report["gil@example.com"]
    assert (gil["last_channel"], gil["last_direction"]) == ("meeting", "mutual")

    listed = json.loads(run("contacts", "--format", "json").output)
    assert sorted(p["emails"][0] for p in listed) == sorted(report)

    discovered = json.loads(run("contacts", "--discovered", "--format", "json").output)
    assert [(p["email"], p["exchanges"], p["relationship"]) for p in discovered] == [
        ("dee@example.com", 3, "two-way"),
        ("gil@example.com", 1, "two-way"),
        ("fay@example.com", 1, "one-way"),
    ]
    table = run("contacts", "--discovered").output
    assert "Fay Once" in table and "one-way" in table


def test_an_override_puts_a_one_way_discovered_person_in_a_network(
    mail: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    run("import", str(mail["archive"]))
    (home / "overrides.toml").write_text('"fay@example.com" = "mentors"\n')
    run("report", "--as-of", "2026-11-15", "--out", str(tmp_path))
    report = {r["email"]: r for r in rows(tmp_path / "staleness.csv")}
    assert report["fay@example.com"]["network"] == "mentors"
    assert report["fay@example.com"]["sources"] == "discovered"


def test_reimporting_an_archive_changes_nothing_and_a_second_copy_counts_once(
    mail: dict[str, Path], tmp_path: Path, home: Path
) -> None:
    run("import", str(mail["archive"]))
    store = home / "netgarden.sqlite"
    before = sqlite3.connect(store).execute("SELECT count(*) FROM interactions").fetchone()[0]
    again = run("import", str(mail["archive"]))
    assert "unchanged since its last import" in again.stderr
    # The same messages in another archive (Takeout's labels, a Thunderbird copy) add nothing.
    copy = tmp_path / "Thunderbird copy.mbox"
    copy.write_bytes(mail["archive"].read_bytes())
    third = run("import", str(copy))
    assert "exchanges 0 new of 6" in third.stderr
    after = sqlite3.connect(store).execute("SELECT count(*) FROM interactions").fetchone()[0]
    assert before == after == 6


def test_subjects_and_bodies_are_never_stored(mail: dict[str, Path], home: Path) -> None:
    run("import", str(mail["archive"]))
    dump = "\n".join(sqlite3.connect(home / "netgarden.sqlite").iterdump())
    assert "private subject" not in dump
    assert "Hello" not in dump


def test_ignore_and_max_recipients_come_from_config(mail: dict[str, Path], home: Path) -> None:
    (home / "config.toml").write_text(
        'me = ["me@example.com", "me@work.example"]\nignore = ["example.com"]\nmax_recipients = 5\n'
    )
    result = run("import", str(mail["archive"]))
    assert "4 ignored addresses" in result.stderr  # Dee three times, Fay once
    discovered = json.loads(run("contacts", "--discovered", "--format", "json").output)
    assert [p["email"] for p in discovered] == ["ada@acme.com"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('me = "me@example.com"', "'me' must be a list of strings"),
        ('me = ["not an address"]', "'me' holds 'not an address'"),
        ("max_recipients = 0", "'max_recipients' must be at least 1"),
        ('max_recipients = "20"', "'max_recipients' must be a whole number"),
    ],
)
def test_bad_mail_settings_are_one_clear_line(home: Path, text: str, error: str) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(text + "\n")
    result = run("contacts")
    assert result.exit_code == 1
    assert error in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_inferred_addresses_are_said(tmp_path: Path, home: Path) -> None:
    archive = tmp_path / "takeout.mbox"
    archive.write_text(
        message(mid="<1@x>", sender="Me <me@gmail.example>", to="ann@example.com", labels="Sent")
        + message(mid="<2@x>", sender="ann@example.com", to="me@gmail.example")
    )
    result = run("import", str(archive))
    assert "inferred from the senders of 1 sent messages: me@gmail.example" in result.stderr
    quiet = run("-q", "import", str(tmp_path / "takeout.mbox"))
    assert quiet.stderr == ""


def test_a_calendar_that_cannot_be_read_is_one_line(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "broken.ics"
    path.write_text("BEGIN:VCALENDAR\r\nthis is not\r\n  iCalendar at all\r\nEND:VCALENDAR\r\n")
    result = run("import", str(path))
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    assert not (home / "netgarden.sqlite").exists() or run("errors").output.startswith("no ")


def test_a_calendar_cut_short_keeps_its_last_event_in_the_quarantine(
    tmp_path: Path, home: Path
) -> None:
    path = tmp_path / "cut.ics"
    path.write_text(ICS.replace("END:VEVENT\r\nEND:VCALENDAR\r\n", ""))
    result = run("import", "--strict", str(path))
    assert result.exit_code == 3
    listing = run("errors").output
    assert "cut.ics:4" in listing and "END:VEVENT" in listing and "UID:lunch@x" in listing


def test_a_format_that_cannot_read_the_path_is_one_line(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "a.eml").write_text(
        "From: ann@example.com\nDate: Mon, 4 Mar 2024 10:00:00 +0000\n\nx"
    )
    as_eml = run("import", "--format", "eml", str(folder))
    assert as_eml.exit_code == 1
    assert "--format eml reads a file" in as_eml.stderr
    archive = tmp_path / "a.mbox"
    archive.write_text(message())
    as_folder = run("import", "--format", "maildir", str(archive))
    assert as_folder.exit_code == 1
    assert "--format maildir reads a folder" in as_folder.stderr
