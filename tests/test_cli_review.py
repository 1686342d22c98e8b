"""The review loop as a user runs it: a review file filled in a spreadsheet and applied, people
ignored for good, rules learnt from decisions, merges undone, and triage in a real terminal."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import DEMO_FILES, SAMPLE, rows, run

AS_OF = "2026-11-15"


def export(tmp_path: Path, *more: str) -> list[dict[str, str]]:
    path = tmp_path / "review.csv"
    result = run("review", "export", "--as-of", AS_OF, "--out", str(path), *more)
    assert result.exit_code == 0, result.output
    return rows(path)


def spreadsheet(records: list[dict[str, str]], decisions: dict[str, str]) -> bytes:
    """What a spreadsheet saves: a byte-order mark, `;`, Windows line ends, columns moved."""
    columns = list(records[0])
    columns = [columns[-1], *columns[:-1]]  # the decision first
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for record in records:
        filled = {**record, "network": decisions.get(record["contact_id"], "")}
        writer.writerow([filled[c] for c in columns])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def report(tmp_path: Path) -> dict[str, dict[str, str]]:
    assert run("report", "--as-of", AS_OF, "--out", str(tmp_path / "r")).exit_code == 0
    return {r["contact_id"]: r for r in rows(tmp_path / "r" / "staleness.csv")}


def test_the_review_loop_on_the_demo_data(demo: Path, tmp_path: Path) -> None:
    listed = export(tmp_path)
    assert list(listed[0]) == [
        "contact_id", "name", "emails", "organization", "title", "labels", "sources",
        "last_contact", "exchanges_365d", "sent", "received", "meetings", "suggested_network",
        "suggestion_reason", "network",
    ]  # fmt: skip
    # Most recent exchange first, then the never-contacted by name.
    contacted = [r["last_contact"] for r in listed if r["last_contact"]]
    assert contacted == sorted(contacted, reverse=True)
    never = [r["name"] for r in listed if not r["last_contact"]]
    assert never == sorted(never, key=str.casefold)
    assert listed.index(next(r for r in listed if not r["last_contact"])) == len(contacted)
    by_name = {r["name"]: r for r in listed}
    ines = by_name["Ines Kowalczyk"]  # discovered, two-way, at a firm of investors
    assert ines["suggested_network"] == "investors"
    assert ines["suggestion_reason"] == "5 of 5 people at harborlight.example are in investors"
    morag = by_name["Morag MacKinnon"]  # a LinkedIn connection: no e-mail address at all
    assert morag["emails"] == ""
    decisions = {
        ines["contact_id"]: "investors",
        morag["contact_id"]: "'mentors",  # the guard a spreadsheet export writes
        by_name["Yaw Boateng"]["contact_id"]: "Potential Employees",
        by_name["Kian Rostami"]["contact_id"]: "ignore",
        by_name["Farhan Rahman"]["contact_id"]: "ignore",
    }
    filled = tmp_path / "filled.csv"
    filled.write_bytes(spreadsheet(listed, decisions))
    applied = run("review", "apply", str(filled))
    assert applied.exit_code == 0, applied.output
    assert "moved to ignore: 2 people (Farhan Rahman, Kian Rostami)" in applied.output
    assert "moved to mentors: 1 person (Morag MacKinnon)" in applied.output
    # Every decided person is where the user put them; the ignored are nowhere.
    placed = report(tmp_path)
    assert placed[ines["contact_id"]]["network"] == "investors"
    assert placed[morag["contact_id"]]["network"] == "mentors"
    assert placed[by_name["Yaw Boateng"]["contact_id"]]["network"] == "potential employees"
    ignored = {by_name["Kian Rostami"]["contact_id"], by_name["Farhan Rahman"]["contact_id"]}
    assert not ignored & set(placed)
    shown = run("contacts", "--format", "csv").output
    assert "Kian Rostami" not in shown and "Farhan Rahman" not in shown
    assert {r["contact_id"] for r in export(tmp_path)}.isdisjoint({*ignored, *decisions})
    assert "Kian Rostami" in run("contacts", "--ignored").output
    # Applying the same file again changes nothing; importing the demo again, even from
    # another folder, brings no one back and undoes no decision.
    before = (demo / "overrides.toml").read_text()
    assert "nothing changed" in run("review", "apply", str(filled)).output
    again = tmp_path / "again"
    shutil.copytree(SAMPLE, again)
    assert run("import", *(str(again / n) for n in DEMO_FILES)).exit_code == 0
    assert (demo / "overrides.toml").read_text() == before
    assert report(tmp_path) == placed
    # The file stays the user's: its comments are still there.
    assert "# friend who co-runs the meetup with me" in before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("contact_id,name,netwrok\nFIRST,x,clients\n", "row 1: unknown column 'netwrok'"),
        ("name,network\nx,clients\n", "row 1: the column 'contact_id' is missing"),
        ("contact_id,network\nFIRST,clients\nSECOND,clints\n", "row 3: no network named "
         "'clints' (did you mean 'clients'?)"),
        ("contact_id,network\nFIRST,clients\n99999,mentors\n", "row 3: no contact with id "
         "'99999' in the store"),
    ],
)  # fmt: skip
def test_a_damaged_review_file_is_refused_whole(
    demo: Path, tmp_path: Path, text: str, says: str
) -> None:
    listed = export(tmp_path)
    bad = tmp_path / "bad.csv"
    bad.write_text(
        text.replace("FIRST", listed[0]["contact_id"]).replace("SECOND", listed[1]["contact_id"])
    )
    before = (demo / "overrides.toml").read_text()
    result = run("review", "apply", str(bad))
    assert result.exit_code == 1
    assert says in result.stderr and "nothing was recorded" in result.stderr
    assert (demo / "overrides.toml").read_text() == before


def test_two_decisions_for_one_person_are_refused(demo: Path, tmp_path: Path) -> None:
    first = export(tmp_path)[0]["contact_id"]
    bad = tmp_path / "bad.csv"
    bad.write_text(f"contact_id,network\n{first},clients\n{first},mentors\n")
    result = run("review", "apply", str(bad))
    assert result.exit_code == 1
    assert "row 3: contact" in result.stderr and "which says 'clients', not 'mentors'" in (
        result.stderr
    )


def test_ignore_keeps_people_out_for_good_and_config_ignore_shows_too(
    demo: Path, tmp_path: Path
) -> None:
    assert run("ignore", "kofori@inbox.test", "Tama Ngata").exit_code == 0
    (demo / "config.toml").write_text('ignore = ["inbox.test"]\n')
    listed = run("contacts", "--ignored", "--format", "csv").output
    assert "Kwesi Ofori" in listed and "overrides file" in listed
    assert "Tama Ngata" in listed
    assert "config.toml's ignore" in listed  # people at inbox.test, by the setting
    assert "Kwesi Ofori" not in run("contacts", "--format", "csv").output
    assert run("unignore", "Tama Ngata").exit_code == 0
    assert "Tama Ngata" in run("contacts", "--format", "csv").output
    shared = run("ignore", "Alex Nobody")
    assert shared.exit_code == 1 and "no one is called 'Alex Nobody'" in shared.stderr


def test_rules_suggest_learns_a_domain_and_the_rule_keeps_every_decision(
    demo: Path, tmp_path: Path
) -> None:
    # The user put everyone at inbox.test into partners by hand.
    at_domain = [r for r in rows(_all(tmp_path)) if r["emails"].endswith("@inbox.test")]
    assert len(at_domain) >= 3
    filled = tmp_path / "filled.csv"
    filled.write_text(
        "contact_id,network\n" + "".join(f"{r['contact_id']},partners\n" for r in at_domain)
    )
    assert run("review", "apply", str(filled)).exit_code == 0
    suggested = run("rules", "suggest")
    assert suggested.exit_code == 0, suggested.output
    learnt = tomllib.loads(suggested.output)
    [rule] = [r for r in learnt["rules"] if r["when"] == {"email_domain": ["inbox.test"]}]
    assert rule["network"] == "partners"
    assert f"{len(at_domain)} decisions agree, 0 contradict" in suggested.output
    networks = demo / "networks.toml"
    networks.write_text(networks.read_text() + "\n" + suggested.output)
    assert run("rules", "check").exit_code == 0
    placed = report(tmp_path)
    assert all(placed[r["contact_id"]]["network"] == "partners" for r in at_domain)


def _all(tmp_path: Path) -> Path:
    path = tmp_path / "all.csv"
    run("review", "export", "--network", "all", "--out", str(path), "--as-of", AS_OF)
    return path


def test_split_undoes_a_merge_and_merge_says_how(demo: Path) -> None:
    merged = run("merge", "54", "84")
    assert "`netgarden split 54` undoes it" in merged.stderr
    assert run("split", "54").stderr.strip() == "split 54 into 54, 84"
    one = run("split", "1")
    assert one.exit_code == 1 and "not merged by hand" in one.stderr


def test_suggestions_find_names_that_are_close_at_one_place(home: Path, tmp_path: Path) -> None:
    book = tmp_path / "c.vcf"
    book.write_text(
        "BEGIN:VCARD\r\nFN:Jonathan Smith\r\nORG:Acme\r\nEMAIL:jon@acme.example\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nFN:Jonathon Smith\r\nEMAIL:jsmith@acme.example\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nFN:Renée Müller\r\nORG:Acme\r\nEMAIL:renee@a.example\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nFN:Renee Muller\r\nORG:ACME\r\nEMAIL:rm@b.example\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nFN:J. Smith\r\nEMAIL:js@acme.example\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nFN:Ann Lee\r\nEMAIL:ann@acme.example\r\nEND:VCARD\r\n",
        newline="",
    )
    run("import", str(book))
    found = run("suggestions").stdout
    assert "Jonathan Smith <jon@acme.example> ~ 2 Jonathon Smith" in found
    assert "similar names (93/100)" in found and "both at acme.example" in found
    assert "Renée Müller" in found and "Renee Muller" in found
    assert "J. Smith" in found
    assert "Ann Lee" not in found


def test_every_line_of_the_overrides_file_counts_and_check_warns(
    demo: Path, tmp_path: Path
) -> None:
    (demo / "overrides.toml").write_text(
        '"tngata@mail.example" = "mentors"\n'
        '"nobody@nowhere.example" = "clients"\n'
        '"jiwoo.park@mail.example" = "clients"\n'
        "[overrides]\n"
        '"jiwoo.park@home.test" = "mentors"\n'
    )
    checked = run("rules", "check")
    assert checked.exit_code == 0, checked.output
    assert "line 2: no contact has nobody@nowhere.example" in checked.stderr
    assert "line 3 sends Jiwoo Park to clients, but line 5 says mentors" in checked.stderr
    placed = report(tmp_path)
    names = {r["name"]: r for r in placed.values()}
    assert names["Tama Ngata"]["network"] == "mentors"  # a line at the top counts


# -- triage in a real terminal ------------------------------------------------------------------


class Terminal:
    """A tmux pane of 80x24 running a command; keys sent one at a time, the screen read back."""

    def __init__(self, command: list[str], tmp_path: Path) -> None:
        self.name = f"netgarden-{tmp_path.name}"
        script = tmp_path / "run.sh"
        script.write_text(" ".join(f"'{c}'" for c in command) + "; echo EXITED $?; sleep 30\n")
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", self.name, "-x", "80", "-y", "24",
             f"bash {script}"],
            check=True,
        )  # fmt: skip

    def screen(self) -> str:
        return subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        ).stdout

    def wait_for(self, *texts: str, timeout: float = 20) -> str:
        """The screen once every text is on it (a screen is drawn a line at a time)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self.screen()
            if all(text in shown for text in texts):
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{texts!r} never appeared; the screen:\n{self.screen()}")

    def press(self, key: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, "-l", key], check=True)

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def terminal(demo: Path, tmp_path: Path) -> Iterator[Terminal]:
    netgarden = str(Path(sys.executable).with_name("netgarden"))
    pane = Terminal([netgarden, "--home", str(demo), "triage", "--limit", "6"], tmp_path)
    yield pane
    pane.close()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (make test installs it)")
def test_triage_places_skips_undoes_ignores_and_keeps_exactly_what_was_decided(
    terminal: Terminal, demo: Path, tmp_path: Path
) -> None:
    listed = [r["name"] for r in export(tmp_path)][:6]
    first = terminal.wait_for("1 of 6", "q quit")
    assert listed[0] in first and "1  clients" in first and "q quit" in first
    assert all(len(line) <= 80 for line in first.splitlines())
    terminal.press("1")  # first person: clients
    terminal.wait_for("2 of 6")
    terminal.press("s")  # second: skipped
    terminal.wait_for("3 of 6")
    terminal.press("2")  # third: partners...
    terminal.wait_for("4 of 6")
    terminal.press("u")  # ...taken back
    assert listed[2] in terminal.wait_for("3 of 6", "q quit")
    terminal.press("i")  # third: ignored
    terminal.wait_for("4 of 6")
    terminal.press("?")
    terminal.wait_for("any key to go back")
    terminal.press("x")
    terminal.wait_for("4 of 6")
    terminal.press("q")
    done = terminal.wait_for("EXITED 0")
    assert "placed 1 person (clients 1), ignored 1, skipped 1" in done
    decisions = tomllib.loads((demo / "overrides.toml").read_text())
    sample = tomllib.loads((SAMPLE / "overrides.toml").read_text())
    added = {k: v for k, v in decisions["overrides"].items() if k not in sample["overrides"]}
    assert sorted(added.values()) == ["clients", "ignore"]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (make test installs it)")
def test_triage_takes_keys_typed_ahead_one_by_one(terminal: Terminal, demo: Path) -> None:
    """Keys typed faster than the screens are drawn are each a decision, in order: none is
    lost while a screen is drawn, and two keys that arrive together are two keys."""
    terminal.wait_for("1 of 6", "q quit")
    terminal.press("ss1s")  # one write: the four keys reach the terminal at once
    terminal.wait_for("5 of 6")
    terminal.press("q")
    done = terminal.wait_for("EXITED 0")
    assert "placed 1 person (clients 1), ignored 0, skipped 3" in done


def test_triage_says_clearly_when_it_has_no_terminal(demo: Path) -> None:
    result = run("triage")
    assert result.exit_code == 1
    assert "reads one key at a time from a terminal" in result.stderr
