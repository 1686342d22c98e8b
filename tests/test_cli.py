"""The CLI as a user runs it: CliRunner on a real SQLite store in a temporary home."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pipeline.report import NETWORK_COLUMNS, STALENESS_COLUMNS
from tests.helpers import FIXTURES, rows, run

CARDS = (
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:1\r\nFN:Ada Client\r\nORG:Acme\r\n"
    "EMAIL:ada@acme.com\r\nTEL:+1 555 010 0101\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:2\r\nFN:Bo Mentor\r\nTITLE:Founder\r\n"
    "EMAIL:bo@example.org\r\nCATEGORIES:Mentors\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:3\r\nFN:Cy Quiet\r\nEMAIL:cy@example.net\r\nEND:VCARD\r\n"
)
EXCHANGES = (
    "date,email,direction,channel\n"
    "2026-09-01,ada@acme.com,outbound,email\n"
    "2026-11-10,BO@example.org,mutual,coffee\n"
)
NETWORKS = """
default_cadence_days = 60
due_soon_days = 7

[[networks]]
name = "clients"
value = "Fast answers."
cadence_days = 30

[[networks]]
name = "mentors"
cadence_days = 90

[[rules]]
id = "clients-by-domain"
network = "clients"
when = { email_domain = ["acme.com"] }

[[rules]]
id = "mentors-by-label"
network = "mentors"
when = { label = ["Mentors"] }
"""


@pytest.fixture
def files(tmp_path: Path, home: Path) -> dict[str, Path]:
    cards = tmp_path / "contacts.vcf"
    cards.write_text(CARDS, encoding="utf-8", newline="")
    exchanges = tmp_path / "exchanges.csv"
    exchanges.write_text(EXCHANGES, encoding="utf-8")
    home.mkdir(parents=True, exist_ok=True)
    (home / "networks.toml").write_text(NETWORKS, encoding="utf-8")
    return {"cards": cards, "exchanges": exchanges}


def test_init_writes_config_and_the_six_networks(home: Path) -> None:
    result = run("init")
    assert result.exit_code == 0
    networks = (home / "networks.toml").read_text()
    for name in (
        "clients",
        "partners",
        "potential employees",
        "investors",
        "mentors",
        "potential employers",
    ):
        assert f'name = "{name}"' in networks
    assert "# [[rules]]" in networks
    assert (home / "config.toml").exists()
    (home / "networks.toml").write_text("# mine\n")
    assert run("init").exit_code == 0
    assert (home / "networks.toml").read_text() == "# mine\n"


def test_default_networks_file_passes_rules_check(home: Path) -> None:
    run("init")
    result = run("rules", "check")
    assert result.exit_code == 0
    assert "ok (6 networks, 0 rules)" in result.output


def test_import_classify_report(files: dict[str, Path], home: Path, tmp_path: Path) -> None:
    result = run("import", str(files["exchanges"]), str(files["cards"]))
    assert result.exit_code == 0, result.output
    assert "contacts 3 new, 0 updated, 0 unchanged" in result.output
    assert "exchanges 2 new of 2" in result.output

    explained = run("classify", "--explain")
    assert explained.exit_code == 0
    assert (
        "Ada Client <ada@acme.com>: clients by rule 'clients-by-domain': "
        "e-mail ada@acme.com is at acme.com"
    ) in explained.output
    assert "Cy Quiet <cy@example.net>: unassigned: no rule matched" in explained.output

    out = tmp_path / "out"
    result = run("report", "--as-of", "2026-11-15", "--out", str(out))
    assert result.exit_code == 0, result.output
    staleness = rows(out / "staleness.csv")
    assert list(staleness[0]) == list(STALENESS_COLUMNS)
    by_name = {r["name"]: r for r in staleness}
    assert [r["name"] for r in staleness] == ["Ada Client", "Cy Quiet", "Bo Mentor"]
    ada = by_name["Ada Client"]
    assert (ada["network"], ada["rule"], ada["cadence_days"], ada["status"]) == (
        "clients",
        "clients-by-domain",
        "30",
        "overdue",
    )
    assert (ada["last_contact"], ada["days_since"], ada["days_overdue"], ada["due_date"]) == (
        "2026-09-01",
        "75",
        "45",
        "2026-10-01",
    )
    cy = by_name["Cy Quiet"]
    assert (cy["status"], cy["days_overdue"], cy["cadence_days"]) == ("never", "", "60")
    bo = by_name["Bo Mentor"]
    assert (bo["last_channel"], bo["last_direction"], bo["status"]) == ("coffee", "mutual", "ok")
    networks = rows(out / "networks.csv")
    assert list(networks[0]) == list(NETWORK_COLUMNS)
    assert [(n["network"], n["contacts"], n["overdue"]) for n in networks] == [
        ("clients", "1", "1"),
        ("mentors", "1", "0"),
        ("unassigned", "1", "0"),
    ]


def test_report_as_of_ignores_later_exchanges(files: dict[str, Path], tmp_path: Path) -> None:
    run("import", str(files["cards"]), str(files["exchanges"]))
    run("report", "--as-of", "2026-10-01", "--out", str(tmp_path / "o"))
    by_name = {r["name"]: r for r in rows(tmp_path / "o" / "staleness.csv")}
    assert by_name["Bo Mentor"]["status"] == "never"
    assert by_name["Ada Client"]["days_since"] == "30"


def test_report_formats(files: dict[str, Path], tmp_path: Path) -> None:
    run("import", str(files["cards"]), str(files["exchanges"]))
    run("report", "--as-of", "2026-11-15", "--out", str(tmp_path), "--format", "md")
    markdown = (tmp_path / "report.md").read_text()
    assert markdown.startswith("# netgarden: your networks as of 2026-11-15\n")
    assert "| Ada Client | ada@acme.com | Acme | clients | " in markdown
    run("report", "--as-of", "2026-11-15", "--out", str(tmp_path), "--format", "html")
    page = (tmp_path / "report.html").read_text()
    assert '"Ada Client","ada@acme.com","Acme","clients",' in page  # the table's data
    table = run("report", "--as-of", "2026-11-15", "--format", "table")
    assert "clients: most overdue" in table.output
    assert "Ada Client" in table.output


def test_reimport_changes_nothing_and_newer_export_updates(
    files: dict[str, Path], home: Path
) -> None:
    run("import", str(files["cards"]))
    store = home / "netgarden.sqlite"
    before = list(sqlite3.connect(store).iterdump())
    again = run("import", str(files["cards"]))
    assert "unchanged since its last import" in again.output
    assert list(sqlite3.connect(store).iterdump()) == before
    files["cards"].write_text(CARDS.replace("FN:Cy Quiet", "FN:Cy Loud"), newline="")
    updated = run("import", str(files["cards"]))
    assert "contacts 0 new, 1 updated, 2 unchanged" in updated.output
    listed = json.loads(run("contacts", "--format", "json").output)
    assert "Cy Loud" in [p["name"] for p in listed]


def test_dry_run_writes_nothing(files: dict[str, Path], home: Path) -> None:
    result = run("import", "--dry-run", str(files["cards"]))
    assert result.exit_code == 0
    assert "contacts 3 new" in result.output
    assert "dry run: nothing was written" in result.output
    assert json.loads(run("contacts", "--format", "json").output) == []


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("photo.vcf", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.vcf: this is a PNG image"),
        ("empty.vcf", b"", "empty.vcf: empty file"),
        ("odd.csv", b"foo,bar,baz\n1,2,3\n", "odd.csv: unrecognized CSV header 'foo,bar,baz'"),
    ],
)
def test_bad_file_is_one_clear_line_and_nothing_is_written(
    files: dict[str, Path], tmp_path: Path, home: Path, name: str, data: bytes, message: str
) -> None:
    bad = tmp_path / name
    bad.write_bytes(data)
    result = run("import", str(files["cards"]), str(bad))
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert message in errors[0]
    assert json.loads(run("contacts", "--format", "json").output) == []


def test_missing_path_is_a_clear_error(home: Path) -> None:
    result = run("import", "/no/such/file.vcf")
    assert result.exit_code == 1
    assert "error: /no/such/file.vcf: no such file or folder" in result.stderr


def test_quarantine_errors_and_strict(tmp_path: Path, home: Path) -> None:
    path = FIXTURES / "csv" / "interactions.csv"
    relaxed = run("import", str(path))
    assert relaxed.exit_code == 0
    assert "1 unreadable (quarantined)" in relaxed.output
    listed = run("errors")
    assert f"{path}:5: unreadable date 'not-a-date'" in listed.output
    assert "not-a-date,helene.garnier@example.com,outbound,coffee" in listed.output
    copy = tmp_path / "again.csv"
    copy.write_bytes(path.read_bytes())
    strict = run("import", "--strict", str(copy))
    assert strict.exit_code == 3


def test_import_a_folder_skips_what_is_not_an_export(home: Path, corpus: Path) -> None:
    folder = corpus / "vcard" / "aosp-vcard" / "tests" / "res" / "raw"
    result = run("import", str(folder))
    assert result.exit_code == 0, result.output
    assert result.output.count("(vcard): contacts") == len(list(folder.glob("*.vcf")))


def test_log_by_email_name_and_new_address(files: dict[str, Path], tmp_path: Path) -> None:
    run("import", str(files["cards"]))
    assert run("log", "cy@example.net", "--date", "2026-11-01", "--channel", "call").exit_code == 0
    assert run("log", "Bo Mentor", "--date", "2026-11-02").exit_code == 0
    # An address no one has is someone new only when --new says so (else a typo is an error).
    assert run("log", "new.person@example.com", "--date", "2026-11-03").exit_code == 1
    created = run(
        "log", "new.person@example.com", "--new", "--date", "2026-11-03", "--direction", "inbound"
    )
    assert "new contact new.person@example.com" in created.output
    run("report", "--as-of", "2026-11-15", "--out", str(tmp_path))
    by_name = {r["name"]: r for r in rows(tmp_path / "staleness.csv")}
    assert (by_name["Cy Quiet"]["last_channel"], by_name["Cy Quiet"]["days_since"]) == (
        "call",
        "14",
    )
    assert by_name["Bo Mentor"]["last_direction"] == "mutual"
    newcomer = by_name["new.person@example.com"]
    assert (newcomer["sources"], newcomer["last_direction"]) == ("manual", "inbound")


def test_log_unknown_or_ambiguous_name_is_a_clear_error(files: dict[str, Path]) -> None:
    run("import", str(files["cards"]))
    unknown = run("log", "Nobody Here")
    assert unknown.exit_code == 1
    assert "no one is called 'Nobody Here'" in unknown.stderr
    bad_date = run("log", "cy@example.net", "--date", "yesterday-ish")
    assert bad_date.exit_code == 1
    assert "is not a date" in bad_date.stderr


def test_contacts_formats(files: dict[str, Path]) -> None:
    run("import", str(files["cards"]))
    listed = run("contacts", "--format", "csv").output.splitlines()
    assert listed[0] == (
        "contact_id,name,emails,phones,organization,title,labels,network,sources,strength"
    )
    assert "1,Ada Client,ada@acme.com,'+15550100101,Acme,,,clients,vcard,0" in listed
    mentors = json.loads(run("contacts", "--network", "mentors", "--format", "json").output)
    assert [(m["name"], m["strength"]) for m in mentors] == [("Bo Mentor", 0)]
    assert "Ada Client" in run("contacts").output
    assert run("contacts", "--network", "nope").exit_code == 1


def test_rules_check_reports_every_problem(tmp_path: Path, home: Path) -> None:
    bad = tmp_path / "networks.toml"
    bad.write_text(
        '[[networks]]\nname = "clients"\n\n[[rules]]\nid = "x"\nnetwork = "client"\n'
        'when = { emial_domain = ["a.com"] }\n'
    )
    result = run("rules", "check", str(bad))
    assert result.exit_code == 1
    assert "line 6: rule 'x': no network named 'client' (did you mean 'clients'?)" in result.stderr
    assert "line 7: rule 'x': unknown condition 'emial_domain' (did you mean 'email_domain'?)" in (
        result.stderr
    )
    assert "error: 2 problems found" in result.stderr


def test_bad_networks_file_stops_classify_with_its_problems(
    files: dict[str, Path], home: Path
) -> None:
    (home / "networks.toml").write_text("default_cadence_days = 0\n")
    result = run("classify")
    assert result.exit_code == 1
    assert "'default_cadence_days' must be a whole number from 1 to 3650" in result.stderr


def test_every_command_works_in_a_home_never_initialized(home: Path, tmp_path: Path) -> None:
    assert not home.exists()
    for args in (
        ["contacts"],
        ["classify"],
        ["errors"],
        ["suggestions"],
        ["rules", "check"],
        ["report", "--out", str(tmp_path)],
    ):
        result = run(*args)
        assert result.exit_code == 0, (args, result.output)
    assert rows(tmp_path / "staleness.csv") == []
    assert [r["network"] for r in rows(tmp_path / "networks.csv")][-1] == "unassigned"


def test_unknown_config_key_is_a_clear_error(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text('default_regoin = "GB"\n')
    result = run("contacts")
    assert result.exit_code == 1
    assert "unknown setting 'default_regoin' (did you mean 'default_region'?)" in result.stderr


def test_suggestions_for_a_shared_phone(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "a.vcf"
    path.write_text(
        "BEGIN:VCARD\nFN:Al One\nTEL:555-010-0199\nEND:VCARD\n"
        "BEGIN:VCARD\nFN:Al Two\nTEL:(555) 010 0199\nEND:VCARD\n"
    )
    run("import", str(path))
    assert "same phone +15550100199" in run("suggestions").output


def test_merge_confirms_a_suggestion_and_survives_reimport(tmp_path: Path, home: Path) -> None:
    cards = tmp_path / "a.vcf"
    cards.write_text(
        "BEGIN:VCARD\nFN:Elif Ozturk\nORG:Initech\nEMAIL:elif@initech.example\nEND:VCARD\n"
    )
    linked = tmp_path / "Connections.csv"
    linked.write_text(
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        "Elif,Öztürk,https://www.linkedin.com/in/elif,,Initech,CTO,10 Feb 2014\n"
    )
    run("import", str(cards), str(linked))
    listed = run("suggestions")
    assert (
        "1 Elif Ozturk <elif@initech.example> ~ 2 Elif Öztürk <>: same name and organization"
        in (listed.output)
    )
    assert run("merge", "1", "7").exit_code == 1
    assert run("merge", "1").exit_code == 2
    assert run("merge", "1", "2").exit_code == 0
    people = json.loads(run("contacts", "--format", "json").output)
    assert [(p["contact_id"], p["sources"]) for p in people] == [(1, ["linkedin", "vcard"])]
    cards.write_text(cards.read_text().replace("FN:Elif Ozturk", "FN:Elif Öztürk"))
    run("import", str(cards))
    assert len(json.loads(run("contacts", "--format", "json").output)) == 1
    assert "no suggestions" in run("suggestions").output


def test_suggestions_accept_merges_every_pair(tmp_path: Path, home: Path) -> None:
    path = tmp_path / "a.vcf"
    path.write_text(
        "BEGIN:VCARD\nFN:Al One\nTEL:555-010-0199\nEND:VCARD\n"
        "BEGIN:VCARD\nFN:Al Two\nTEL:(555) 010 0199\nEND:VCARD\n"
    )
    run("import", str(path))
    assert "merged 1 suggested pair" in run("suggestions", "--accept").output
    assert len(json.loads(run("contacts", "--format", "json").output)) == 1
