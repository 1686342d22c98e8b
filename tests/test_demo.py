"""End to end on the bundled sample data: the pipeline `make demo` runs, as a reader checks it."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import main
from tests.helpers import SAMPLE

AS_OF = "2026-11-15"


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_pipeline(home: Path, tmp_path: Path) -> None:
    run("init")
    for name in ("networks.toml", "overrides.toml"):
        shutil.copy(SAMPLE / name, home / name)
    imported = run(
        "import",
        *(
            str(SAMPLE / n)
            for n in (
                "contacts.vcf",
                "Connections.csv",
                "google.csv",
                "interactions.csv",
                "mail.mbox",
                "meetings.ics",
            )
        ),
    )
    assert "contacts 200 new, 0 updated, 0 unchanged; skipped 1 group card" in imported
    assert "exchanges 629 new of 629" in imported
    # The mail archive: the user's address inferred, noise counted by rule, new people found.
    assert "inferred from the senders of 105 sent messages: robin.hale@owner.example" in imported
    assert (
        "exchanges 186 new of 186; 7 people discovered; skipped 12 bulk or list mail, "
        "5 no-reply or role senders, 4 labelled Spam, 1 too many recipients, 1 drafts"
    ) in imported
    assert "skipped 1 cancelled meetings, 1 meetings you declined" in imported
    assert "unreadable" not in imported
    # LinkedIn rows without an e-mail are only suggested, never merged silently.
    assert "40 suggestions" in run("suggestions")
    run("suggestions", "--accept")
    classified = run("classify")
    assert (
        "classified 232 contacts: clients 51, partners 29, potential employees 41, investors 24, "
        "mentors 23, potential employers 29, unassigned 35"
    ) in classified
    run("report", "--as-of", AS_OF, "--out", str(tmp_path))
    with (tmp_path / "staleness.csv").open(newline="", encoding="utf-8") as handle:
        report = list(csv.DictReader(handle))
    assert len(report) == 232
    # Five people in no address book are two-way: in the report, marked discovered; Brightlane's
    # two are clients by the domain rule.
    found = {r["email"]: r for r in report if r["sources"] == "discovered"}
    assert len(found) == 5
    assert found["zoe.adeyemi@eu.brightlane.example"]["network"] == "clients"
    assert found["jonas.berg@post.example.net"]["last_channel"] == "meeting"
    statuses = [r["status"] for r in report]
    order = {"overdue": 0, "due_soon": 1, "never": 2, "ok": 3}
    assert statuses == sorted(statuses, key=order.__getitem__)
    overdue = [int(r["days_overdue"]) for r in report if r["status"] == "overdue"]
    assert overdue == sorted(overdue, reverse=True)
    # Nobody's last contact lies after the report date, and every date is ISO.
    assert all(r["last_contact"] <= AS_OF for r in report if r["last_contact"])
    # The overrides file wins over the rules and says so.
    assert {r["rule"] for r in report} >= {"override", "clients-by-domain"}
    merged = [r for r in report if r["sources"] == "linkedin;vcard"]
    assert merged, "accepted suggestions join LinkedIn rows to their address-book records"
    table = run("report", "--as-of", AS_OF, "--format", "table")
    assert "clients: most overdue" in table
