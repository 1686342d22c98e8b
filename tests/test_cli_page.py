"""What a person reads on a Monday: `next`, `report --format html` (rendered for real in headless
Chromium) and `report --format md`, on the demo data and on hostile names."""

from __future__ import annotations

import csv
import html
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from pipeline.page import TABLE_COLUMNS
from pipeline.report import STALENESS_COLUMNS
from tests.helpers import SAMPLE, rows, run

AS_OF = "2026-11-15"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Set by .ci/run (see conftest.py): CI always renders the page, never skips it.
_IN_CI = bool(os.environ.get("NETGARDEN_REQUIRE_CORPUS"))
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None and not _IN_CI, reason="needs Debian's chromium (make test installs it)"
)


def test_next_lists_this_weeks_people_of_every_network_with_what_to_offer_and_do(
    demo: Path, tmp_path: Path
) -> None:
    result = run("next", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    networks = [line for line in lines if not line.startswith(" ")]
    networks = [n for n in networks if n]
    names = ["clients", "partners", "potential employees", "investors", "mentors",
             "potential employers"]  # fmt: skip
    assert [n.split(" (every")[0] for n in networks] == names
    value = (SAMPLE / "networks.toml").read_text()
    for line in networks:  # each with its value proposition, as networks.toml says it
        assert line.split(": ", 1)[1] in value
    steps = [line.strip() for line in lines if line.startswith("    next: ")]
    people = [line for line in lines if line.startswith("  ") and
              not line.startswith("    ")]  # fmt: skip
    assert len(steps) == len(people) > 20
    assert any("propose a call" in s for s in steps)

    listed = json.loads(run("next", "--as-of", AS_OF, "--format", "json").stdout)
    report = {r["contact_id"]: r for r in _report(tmp_path)}
    for item in listed:
        row = report[str(item["contact_id"])]
        assert row["status"] in ("overdue", "due_soon") and row["network"] == item["network"]
        assert item["status"] == row["status"] and item["strength"] == int(row["strength"])
        assert item["next_step"] and item["value"]
    # Everyone overdue or due within the week, of every network (not the unassigned).
    due = [
        r
        for r in report.values()
        if r["network"] != "unassigned"
        and (
            r["status"] == "overdue"
            or (r["status"] == "due_soon" and r["due_date"] <= "2026-11-22")
        )
    ]
    assert len(listed) == len(due)

    chosen = run("next", "--as-of", AS_OF, "--network", "mentors", "--format", "csv")
    mentors = list(csv.DictReader(io.StringIO(chosen.stdout)))
    assert mentors and {m["network"] for m in mentors} == {"mentors"}
    assert list(mentors[0]) == ["network", "value", "contact_id", "name", "email",
        "organization", "status", "due_date", "days_overdue", "last_contact", "last_channel",
        "strength", "rung", "next_step"]  # fmt: skip
    wider = json.loads(run("next", "--as-of", AS_OF, "--days", "30", "--format", "json").stdout)
    assert len(wider) > len(listed)
    unknown = run("next", "--network", "friends")
    assert unknown.exit_code == 1 and "no network named 'friends'" in unknown.stderr


def _report(folder: Path) -> list[dict[str, str]]:
    assert run("-q", "report", "--as-of", AS_OF, "--out", str(folder)).exit_code == 0
    return rows(folder / "staleness.csv")


def test_the_staleness_columns_are_the_old_ones_then_strength(demo: Path, tmp_path: Path) -> None:
    report = _report(tmp_path)
    header = (tmp_path / "staleness.csv").read_text().splitlines()[0].split(",")
    assert header == list(STALENESS_COLUMNS) and header[-1] == "strength"
    assert header[:-1] == [
        "contact_id", "name", "email", "organization", "network", "rule", "cadence_days",
        "last_contact", "last_direction", "last_channel", "days_since", "due_date",
        "days_overdue", "status", "interactions_90d", "interactions_total", "first_contact",
        "sources",
    ]  # fmt: skip
    strengths = [int(r["strength"]) for r in report]
    assert all(0 <= s <= 100 for s in strengths) and max(strengths) > 50
    assert all(int(r["strength"]) == 0 for r in report if r["status"] == "never")


def test_report_md_has_the_sections_and_escapes_every_value(demo: Path, tmp_path: Path) -> None:
    _hostile(demo)
    written = run("-q", "report", "--as-of", AS_OF, "--format", "md", "--out", str(tmp_path))
    assert written.exit_code == 0
    text = (tmp_path / "report.md").read_text()
    for heading in ("## Networks", "## This week", "## Everyone", "### clients: What I bring"):
        assert heading in text
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "| Mal \\| Pipe" in text  # a | in a name does not break the table
    assert not (tmp_path / "staleness.md").exists()


def _hostile(home: Path) -> None:
    """A client whose name is markup, overdue (so on every list)."""
    cards = home.parent / "hostile.vcf"
    cards.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:<script>alert(1)</script><img src=x onerror=alert(2)>"
        "\r\nEMAIL:evil@acme.example\r\nCATEGORIES:client\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Mal | Pipe\r\nEMAIL:pipe@acme.example\r\nEND:VCARD\r\n"
    )
    exchanges = home.parent / "hostile.csv"
    exchanges.write_text(
        "date,email,direction,channel\n2026-08-01,evil@acme.example,mutual,call\n"
        "2026-08-02,pipe@acme.example,outbound,email\n"
    )
    assert run("-q", "import", str(cards), str(exchanges)).exit_code == 0


def _chromium(
    page: Path, *args: str, profile: Path, fragment: str = ""
) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None, "chromium is missing: `make test` installs it"
    address = page.as_uri() + (f"#{fragment}" if fragment else "")
    return subprocess.run(
        [
            CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-quic", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
            "--virtual-time-budget=5000", *args, address,
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@needs_chromium
def test_report_html_renders_in_chromium_with_charts_and_no_errors(
    demo: Path, tmp_path: Path
) -> None:
    from PIL import Image

    _hostile(demo)
    for _ in range(2):  # runs recorded: the trend charts appear
        assert run("-q", "run").exit_code == 0
    out = tmp_path / "out"
    result = run("report", "--as-of", AS_OF, "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    page = out / "report.html"
    text = page.read_text()
    assert not (out / "staleness.html").exists()
    # Self-contained: nothing is fetched, everything is inside.
    assert "http://" not in text.replace("http://www.w3.org", "") and "https://" not in text
    assert 'src="http' not in text and "<link" not in text

    dom = _chromium(page, "--dump-dom", profile=tmp_path / "p1")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ready="1"' in dom.stdout and "data-errors" not in dom.stdout
    assert "Uncaught" not in dom.stderr and ":ERROR:CONSOLE" not in dom.stderr
    # Everyone's row, drawn as text: the hostile name is shown, never run.
    report = _report(tmp_path / "csv")
    assert dom.stdout.count("<tr><td>") == len(report)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in dom.stdout
    assert "onerror=alert(2)>" not in dom.stdout.replace("onerror=alert(2)&gt;", "")
    assert 'href="mailto:evil@acme.example"' in dom.stdout
    assert dom.stdout.count("<img alt=") == 7 + 7  # a cadence chart a network, and its trend

    shot = tmp_path / "shot.png"
    taken = _chromium(page, f"--screenshot={shot}", "--window-size=1280,1400",
                      profile=tmp_path / "p2")  # fmt: skip
    assert taken.returncode == 0 and shot.exists(), taken.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    # The charts' marks are drawn in colour (bars and areas), the rest of the page is grey.
    pixels = image.tobytes()
    coloured = sum(
        1 for i in range(0, len(pixels), 3) if max(pixels[i : i + 3]) - min(pixels[i : i + 3]) > 90
    )
    assert coloured > 5000


def _table(dom: str) -> list[list[str]]:
    """The rows of the page's table of everyone, as Chromium drew them."""
    body = re.search(r"<table id=\"everyone\">.*?<tbody>(.*?)</tbody>", dom, re.S)
    assert body is not None
    return [
        [html.unescape(cell) for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    ]


@needs_chromium
def test_the_table_opens_filtered_and_sorted_as_its_address_says(
    demo: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run("-q", "report", "--as-of", AS_OF, "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    report = _report(tmp_path / "csv")
    page = out / "report.html"
    dom = _chromium(
        page, "--dump-dom", profile=tmp_path / "p", fragment="q=Clients&sort=days_overdue&desc"
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'data-ready="1"' in dom.stdout and "data-errors" not in dom.stdout
    shown = _table(dom.stdout)
    wanted = [r for r in report if r["network"] == "clients"]
    assert 0 < len(wanted) < len(report)
    at = TABLE_COLUMNS.index
    # Filtered as asked: the clients, and only they (no other column says "clients").
    assert sorted(r[at("name")] for r in shown) == sorted(r["name"] for r in wanted)
    # Sorted as asked: most overdue first, the not-yet-due (no figure) last.
    overdue = [r[at("days_overdue")] for r in shown]
    figures = [int(v) for v in overdue if v != ""]
    assert figures == sorted(figures, reverse=True) and len(set(figures)) > 1
    assert overdue == [str(v) for v in figures] + [""] * (len(overdue) - len(figures))
    assert f'<span id="count" class="muted">{len(wanted)} of {len(report)}</span>' in dom.stdout
    assert '<th class="sorted">days_overdue</th>' in dom.stdout
    # Without a fragment: everyone, in the report's order.
    plain = _table(_chromium(page, "--dump-dom", profile=tmp_path / "p2").stdout)
    assert [r[at("name")] for r in plain] == [r["name"] for r in report]


def test_report_html_stays_small_for_5000_people(home: Path, tmp_path: Path) -> None:
    assert run("-q", "init").exit_code == 0
    cards = tmp_path / "people.vcf"
    cards.write_text(
        "".join(
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person Number {i} Longname\r\n"
            f"EMAIL:person{i}@company{i % 97}.example\r\nORG:Company {i % 97}\r\n"
            f"CATEGORIES:{['client', 'investor', 'mentor'][i % 3]}\r\nEND:VCARD\r\n"
            for i in range(5000)
        )
    )
    exchanges = tmp_path / "exchanges.csv"
    exchanges.write_text(
        "date,email,direction,channel\n"
        + "".join(
            f"2026-{1 + i % 11:02d}-{1 + i % 27:02d},person{i % 5000}@company{i % 5000 % 97}"
            f".example,{['outbound', 'inbound', 'mutual'][i % 3]},{['email', 'call'][i % 2]}\n"
            for i in range(20000)
        )
    )
    assert run("-q", "import", str(cards), str(exchanges)).exit_code == 0
    written = run("-q", "report", "--as-of", AS_OF, "--format", "html", "--out", str(tmp_path))
    assert written.exit_code == 0
    size = (tmp_path / "report.html").stat().st_size
    assert 500_000 < size < 2_000_000
    assert TABLE_COLUMNS[-3:] == ("strength", "rung", "next_step")
