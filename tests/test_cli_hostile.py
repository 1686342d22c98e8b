"""What a new user, hostile files and common mistakes meet on the command line: nothing hangs,
nothing is lost in silence, output is never markup, and every mistake is one clear line."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.store import writer_note
from tests.helpers import message, rows, run

CARD = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\nEMAIL:{email}\r\nEND:VCARD\r\n"


def cards(tmp_path: Path, *people: tuple[str, str], name: str = "contacts.vcf") -> Path:
    path = tmp_path / name
    path.write_text("".join(CARD.format(name=n, email=e) for n, e in people), newline="")
    return path


# -- files that are not files ---------------------------------------------------------------


def test_a_pipe_or_a_device_is_one_line_not_a_hang(tmp_path: Path, home: Path) -> None:
    fifo = tmp_path / "fifo.vcf"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/urandom", "/dev/zero"):
        result = run("import", path)
        assert result.exit_code == 1
        assert "not a regular file" in result.stderr and "give - as the path" in result.stderr
    checked = run("rules", "check", "/dev/zero")
    assert checked.exit_code == 1 and "not a regular file" in checked.stderr


def test_standard_input_is_imported_with_a_dash(tmp_path: Path, home: Path) -> None:
    text = CARD.format(name="Ann Lee", email="ann@example.com")
    first = CliRunner().invoke(main, ["import", "-"], input=text)
    assert first.exit_code == 0, first.output
    assert "contacts 1 new" in first.stderr
    again = CliRunner().invoke(main, ["import", "-"], input=text)
    assert "unchanged since its last import" in again.stderr
    assert not (home / "stdin").exists()


def test_a_settings_file_of_no_business_being_large_is_refused(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "networks.toml").write_text("# x\n" * 400_000)
    result = run("rules", "check")
    assert result.exit_code == 1 and "larger than 1 MB" in result.stderr


# -- a folder goes on past a bad file ---------------------------------------------------------


def test_one_bad_file_in_a_folder_never_stops_the_others(tmp_path: Path, home: Path) -> None:
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "a-broken.ics").write_text(
        "BEGIN:VCALENDAR\r\nthis is not\r\n  iCalendar at all\r\nEND:VCALENDAR\r\n"
    )
    (folder / "b-latin.csv").write_bytes(
        b"First Name,Last Name,Display Name,Primary Email\r\n"
        b"Bo\x81,Roe,Bo Roe,bo@example.com\r\nCy,Doe,Cy Doe,cy@example.com\r\n"
    )
    cards(folder, ("Ann Lee", "ann@example.com"), name="c.vcf")
    result = run("import", str(folder))
    assert result.exit_code == 3
    assert "not imported:" in result.stderr and "a-broken.ics" in result.stderr
    names = rows_of_contacts()
    assert names == ["Ann Lee", "Cy Doe"]
    assert "neither UTF-8 nor cp1252" in run("errors").output


def rows_of_contacts() -> list[str]:
    listed = json.loads(run("contacts", "--format", "json").output)
    return sorted(p["name"] for p in listed)


# -- dates no exchange can have -------------------------------------------------------------


def test_impossible_dates_cost_their_record_and_never_a_later_report(
    tmp_path: Path, home: Path
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "date,email,direction,channel\n0001-01-01T00:00:00+01:00,ann@example.com,mutual,call\n"
        "2026-11-02,ann@example.com,mutual,call\n"
    )
    archive = tmp_path / "a.mbox"
    archive.write_text(message(date="Fri, 31 Dec 9999 23:59:59 -2359"))
    assert run("import", str(log), str(archive)).exit_code == 0
    report = run("report", "--as-of", "2026-11-15", "--out", str(tmp_path / "r"))
    assert report.exit_code == 0, report.output
    assert "0001-01-01" in run("errors").output


# -- output is data, never markup -----------------------------------------------------------


def test_names_are_printed_as_they_are_never_as_markup_or_escapes(
    tmp_path: Path, home: Path
) -> None:
    book = cards(
        tmp_path,
        ("[/bold]Ann [red]Lee", "ann@example.com"),
        ("Bo \x1b]0;pwned\x07Roe", "bo@example.com"),
        ("<script>alert(1)</script>", "cy@example.com"),
    )
    archive = tmp_path / "a.mbox"
    archive.write_text(
        message(sender="[/bold] Dee <dee@example.com>", to="me@example.com")
        + message(sender="me@example.com", to="dee@example.com", labels="Sent", mid="<2@x>")
    )
    interactions = tmp_path / "log.csv"
    filler = "".join(f"2026-10-01,p{i}@example.com,mutual,call,P{i}\n" for i in range(600))
    # A NUL deep in the file (the first 16 KB would tell a binary file).
    interactions.write_text(
        "date,email,direction,channel,name\n"
        + filler
        + "2026-11-01,eve@example.com,mutual,call,Eve\x00Nul\n"
    )
    assert run("import", str(book), str(archive), str(interactions)).exit_code == 0
    for args in (
        ["contacts"],
        ["contacts", "--discovered"],
        ["report", "--format", "table", "--as-of", "2026-11-15"],
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
        assert "\x1b" not in result.output and "\x07" not in result.output
    assert "[/bold]Ann [red]Lee" in run("contacts").output
    run("report", "--format", "md", "--out", str(tmp_path / "r"), "--as-of", "2026-11-15")
    markdown = (tmp_path / "r" / "report.md").read_text()
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown
    run("report", "--out", str(tmp_path / "r"), "--as-of", "2026-11-15")
    assert "\x00" not in (tmp_path / "r" / "staleness.csv").read_text()
    assert "EveNul" in (tmp_path / "r" / "staleness.csv").read_text()


def test_a_file_name_with_an_escape_sequence_is_printed_harmless(
    tmp_path: Path, home: Path
) -> None:
    path = cards(tmp_path, ("Ann", "ann@example.com"), name="x\x1b]0;title\x07.vcf")
    result = run("import", str(path))
    assert result.exit_code == 0
    assert "\x1b" not in result.output and "\\x1b" in result.output


# -- rules check against the store ------------------------------------------------------------


def test_rules_check_says_what_each_rule_does_in_the_store(tmp_path: Path, home: Path) -> None:
    home.mkdir(parents=True)
    (home / "networks.toml").write_text(
        '[[networks]]\nname = "clients"\n[[networks]]\nname = "mentors"\n\n'
        '[[rules]]\nid = "acme"\nnetwork = "clients"\nwhen = { email_domain = ["acme.com"] }\n\n'
        '[[rules]]\nid = "all-acme-people"\nnetwork = "mentors"\n'
        'when = { organization = "Acme" }\n\n'
        '[[rules]]\nid = "labelled"\nnetwork = "mentors"\nwhen = { label = ["Mentr"] }\n'
    )
    book = tmp_path / "c.vcf"
    book.write_text(
        "BEGIN:VCARD\r\nFN:Ann\r\nORG:Acme\r\nEMAIL:ann@acme.com\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nFN:Bo\r\nORG:Acme\r\nEMAIL:bo@gmail.com\r\nEND:VCARD\r\n",
        newline="",
    )
    run("import", str(book))
    result = run("rules", "check")
    assert result.exit_code == 0, result.output
    assert "acme -> clients: places 1 person" in result.output
    assert "all-acme-people -> mentors: places 1 person; 1 more match it" in result.output
    assert "line 16: rule 'labelled': no contact has the label 'Mentr'" in result.stderr
    assert "rule 'labelled' matches no one in the store" in result.stderr


def test_config_mistakes_are_said_all_at_once(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(
        'default_regoin = "GB"\nmax_recipients = 0\nwindows_codepage = "undefined"\n'
    )
    result = run("contacts")
    assert result.exit_code == 1
    assert "3 problems" in result.stderr
    for line in ("line 1:", "line 2:", "line 3:"):
        assert line in result.stderr


# -- the user's own addresses ---------------------------------------------------------------


def test_me_applies_to_what_is_stored_without_importing_again(tmp_path: Path, home: Path) -> None:
    archive = tmp_path / "a.mbox"
    archive.write_text(
        message(sender="me@example.com", to="ann@example.com", labels="Sent", mid="<1@x>")
        + message(sender="Ann <ann@example.com>", to="me@example.com", mid="<2@x>")
        # From the user's other address, which the archive cannot tell is theirs.
        + message(sender="Me Too <me@other.example>", to="me@example.com", mid="<3@x>")
        + message(sender="me@example.com", to="me@other.example", labels="Sent", mid="<4@x>")
    )
    book = cards(tmp_path, ("Myself", "me@example.com"), ("Ann", "ann@example.com"))
    assert run("import", str(book), str(archive)).exit_code == 0
    # The inferred address is kept, shown, and is no one's contact.
    assert "me@example.com (mbox)" in run("status").output
    assert rows_of_contacts() == ["Ann", "Me Too"]
    (home / "config.toml").write_text('me = ["me@example.com", "me@other.example"]\n')
    assert rows_of_contacts() == ["Ann"]
    assert "unchanged since its last import" in run("import", str(archive)).stderr
    # Read again with the settings of now: mail between the user's addresses is no exchange.
    again = run("import", "--force", str(archive)).stderr
    assert "exchanges 0 new of 2; skipped 2 only to yourself" in again


# -- logging by hand ------------------------------------------------------------------------


def test_log_names_people_by_id_and_asks_before_it_guesses(tmp_path: Path, home: Path) -> None:
    book = cards(
        tmp_path, ("Alex Kim", "alex@a.example"), ("Alex Kim", "alex@b.example"), ("Bo", "bo@x.org")
    )
    run("import", str(book))
    shared = run("log", "Alex Kim", "--date", "2026-11-01")
    assert shared.exit_code == 1
    assert "2 people are called 'Alex Kim': 1 Alex Kim <alex@a.example>;" in shared.stderr
    assert run("log", "2", "--date", "2026-11-01", "--channel", "call").exit_code == 0
    typo = run("log", "bo@x.orgg", "--date", "2026-11-01")
    assert typo.exit_code == 1 and "add --new" in typo.stderr
    assert rows_of_contacts() == ["Alex Kim", "Alex Kim", "Bo"]  # nobody was created
    ahead = (date.today() + timedelta(days=3)).isoformat()
    assert "add --planned" in run("log", "bo@x.org", "--date", ahead).stderr
    assert run("log", "bo@x.org", "--date", ahead, "--planned").exit_code == 0
    assert run("log", "bo@x.org", "--date", "2026-11-02").exit_code == 0
    twice = run("log", "bo@x.org", "--date", "2026-11-02")
    assert "1 identical exchange with Bo was already stored" in twice.stderr
    undone = run("log", "--undo")
    assert "took back the manual with bo@x.org on 2026-11-02" in undone.stderr
    run("report", "--out", str(tmp_path / "r"), "--as-of", "2026-11-15")
    bo = next(r for r in rows(tmp_path / "r" / "staleness.csv") if r["name"] == "Bo")
    assert bo["interactions_total"] == "1"  # 2 Nov once, and the planned one still ahead


# -- files and output -----------------------------------------------------------------------


def test_every_file_with_personal_data_is_private_whatever_creates_the_home(
    tmp_path: Path, home: Path
) -> None:
    run("import", str(cards(tmp_path, ("Ann", "ann@example.com"))))
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert stat.S_IMODE((home / "netgarden.sqlite").stat().st_mode) == 0o600
    for fmt in ("csv", "md", "html"):
        run("report", "--format", fmt)
        for report in (home / "reports").glob(f"*.{fmt}"):
            assert stat.S_IMODE(report.stat().st_mode) == 0o600, report
    assert stat.S_IMODE((home / "reports").stat().st_mode) == 0o700


def test_quiet_keeps_only_errors_and_may_follow_the_command(tmp_path: Path, home: Path) -> None:
    book = tmp_path / "c.vcf"
    book.write_text(CARD.format(name="Ann", email="a@x.org") + "BEGIN:VCARD\r\nFN:Cut", newline="")
    loud = run("import", str(book))
    assert "warning:" in loud.stderr
    quiet = run("import", str(book), "-q", "--force")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert run("contacts", "--home", str(home)).exit_code == 0


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["--format", "table", "--out", "x"], 2, "--out names a folder for files"),
        (["--format", "table", "--top", "-1"], 2, "-1 is not in the range"),
        (["--top", "3"], 2, "--top is for --format table"),
        (["--as-of", "9999-12-31"], 1, "--as-of 9999-12-31 is out of range"),
    ],
)
def test_report_refuses_options_that_do_nothing_or_make_no_sense(
    home: Path, args: list[str], code: int, says: str
) -> None:
    result = run("report", *args)
    assert result.exit_code == code
    assert says in result.stderr


def test_contacts_fit_an_80_column_terminal(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    book = cards(
        tmp_path,
        ("Maximiliane Osterhagen", "maxi.osterhagen@brightlane.example"),
        ("Bo", "bo@x.org"),
    )
    run("import", str(book))
    result = run("contacts")
    assert all(len(line) <= 80 for line in result.stdout.splitlines())
    # Neither folded nor cut: each on one line of the table.
    assert "Maximiliane Osterhagen" in result.stdout
    assert "maxi.osterhagen@brightlane.example" in result.stdout
    assert "--format csv or json shows every column" in result.stderr


# -- a store another command holds ----------------------------------------------------------


def test_a_report_while_an_import_holds_the_store_says_which_in_one_line(
    tmp_path: Path, home: Path
) -> None:
    run("import", str(cards(tmp_path, ("Ann", "ann@example.com"))))
    store = home / "netgarden.sqlite"
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    writer_note(store).write_text(
        json.dumps(
            {
                "pid": os.getpid(),
                "command": "netgarden import big.mbox",
                "since": "2026-12-05T10:02:03+00:00",
            }
        )
    )
    try:
        result = run("report")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert f"`netgarden import big.mbox` (pid {os.getpid()})" in result.stderr
    assert "since 10:02:03 UTC" in result.stderr


# -- an import stopped from outside -----------------------------------------------------------


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
@pytest.mark.parametrize("kind", ["mbox", "csv"])
def test_the_parse_workers_die_with_a_killed_import(tmp_path: Path, how: str, kind: str) -> None:
    """The processes a large import starts (the parse workers of a mail archive, the process
    that reads an interactions CSV ahead) end with it, however it is stopped."""
    import signal
    import subprocess
    import sys
    import time

    from pipeline.runner import READ_AHEAD_BYTES

    if kind == "mbox":
        archive = tmp_path / "big.mbox"
        block = "".join(
            message(mid=f"<{i}@x>", sender=f"P{i} <p{i}@example.com>") for i in range(2000)
        )
        size, processes = 48 << 20, 2  # past the size parsed on every core
    else:
        archive = tmp_path / "big.csv"
        block = "date,email,direction,channel\n" + "".join(
            f"2025-01-{1 + i % 28:02}T10:{i % 60:02}:00Z,p{i}@example.com,outbound,call\n"
            for i in range(2000)
        )
        size, processes = READ_AHEAD_BYTES * 2, 1
    with archive.open("w") as out:
        out.write(block)
        for _ in range(size // len(block) + 1):
            out.write(block.partition("\n")[2] if kind == "csv" else block)
    command = [str(Path(sys.executable).parent / "netgarden"), "--home", str(tmp_path / "h")]
    process = subprocess.Popen(
        [*command, "import", str(archive)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    workers: list[int] = []
    deadline = time.monotonic() + 60
    while len(workers) < processes and time.monotonic() < deadline and process.poll() is None:
        workers = _children(process.pid)
        time.sleep(0.05)
    assert len(workers) >= processes, "the import never started its workers"
    process.send_signal(getattr(signal, how))
    code = process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "a worker outlived the import"
    if how == "SIGTERM":
        assert code == 143
        assert b"stopped (SIGTERM); nothing half-written was kept" in process.stderr.read()
    assert process.stderr is not None
    process.stderr.close()
    # Nothing half-written: the next import reads the whole archive and completes.
    done = subprocess.run([*command, "-q", "import", str(archive)], capture_output=True)
    assert done.returncode == 0, done.stderr
