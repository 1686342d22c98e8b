"""A real `netgarden run`, killed with SIGKILL at random moments over a mail archive of
100,000 messages configured as a file source, then let finish: the store equals the one an
uninterrupted run made, every time, and no process of a killed run is left behind."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

NETGARDEN = str(Path(sys.executable).with_name("netgarden"))
MESSAGES = 100_000
KILLS = 10
ME = "me@example.com"

NETWORKS = """\
default_cadence_days = 60
due_soon_days = 7

[[networks]]
name = "clients"
cadence_days = 30

[[networks]]
name = "partners"
cadence_days = 90

[[rules]]
id = "clients-by-domain"
network = "clients"
when = { email_domain = ["client.example"] }

[[rules]]
id = "busy-partners"
network = "partners"
when = { min_interactions = 40 }
"""


def _archive(path: Path, seed: int = 13) -> None:
    """An mbox of MESSAGES header-only messages between the user and 3,000 people over three
    years (a third sent by the user), some to two people at once."""
    rng = random.Random(seed)
    domains = ["client.example", "partner.example", "mail.example", "uni.example"]
    people = [f"person{i}@{domains[i % 4]}" for i in range(3000)]
    start = 1_640_995_200  # 2022-01-01
    chunks: list[str] = []
    for n in range(MESSAGES):
        at = time.gmtime(start + rng.randrange(3 * 365 * 86400))
        stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", at)
        other = rng.choice(people)
        if rng.random() < 1 / 3:
            to = other if rng.random() < 0.8 else f"{other}, {rng.choice(people)}"
            sender = ME
        else:
            sender, to = other, ME
        chunks.append(
            f"From x@y {time.strftime('%a %b %d %H:%M:%S %Y', at)}\n"
            f"From: {sender}\nTo: {to}\nDate: {stamp}\nMessage-ID: <m{n}@archive.example>\n"
            "Subject: (not stored)\n\nbody\n\n"
        )
    path.write_text("".join(chunks))


def _home(root: Path, name: str, archive: Path) -> Path:
    home = root / name
    home.mkdir()
    (home / "networks.toml").write_text(NETWORKS)
    (home / "config.toml").write_text(
        f'me = ["{ME}"]\ntimezone = "UTC"\n\n[[files]]\npath = "{archive}"\n'
    )
    return home


def _run(home: Path) -> subprocess.Popen[bytes]:
    # --home on the command line: every process of the run (its workers are forks) names it.
    return subprocess.Popen(
        [NETGARDEN, "--home", str(home), "-q", "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _left_behind(home: Path) -> list[int]:
    """Processes whose command line names this home."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(home).encode() in words and state != "Z":
            found.append(int(entry.name))
    return found


def _snapshot(home: Path) -> dict[str, object]:
    """What a user's store holds, named by addresses rather than row ids: who is one person,
    every exchange, everyone's network."""
    db = sqlite3.connect(home / "netgarden.sqlite")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        handles: dict[int, set[str]] = {}
        for person, listed in db.execute("SELECT coalesce(person_id, id), handles FROM contacts"):
            handles.setdefault(person, set()).update(v for _, v in json.loads(listed))
        name = {p: min(h) for p, h in handles.items()}
        return {
            "people": sorted(sorted(h) for h in handles.values()),
            "exchanges": db.execute(
                "SELECT key, kind, value, at, direction, channel, source FROM interactions "
                "ORDER BY key, kind, value"
            ).fetchall(),
            "assignments": sorted(
                (name[p], network, rule)
                for p, network, rule in db.execute(
                    "SELECT person_id, network, rule FROM assignments"
                )
            ),
            "checkpoints": sorted(r[0] for r in db.execute("SELECT stream FROM checkpoints")),
        }
    finally:
        db.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_run_killed_at_random_moments_then_finished_equals_an_uninterrupted_run(
    tmp_path: Path,
) -> None:
    archive = tmp_path / "archive.mbox"
    _archive(archive)
    reference = _home(tmp_path, "reference", archive)
    began = time.monotonic()
    whole = _run(reference)
    _, err = whole.communicate(timeout=600)
    took = time.monotonic() - began
    assert whole.returncode == 0, err.decode()
    expected = _snapshot(reference)
    assert len(expected["exchanges"]) >= MESSAGES  # type: ignore[arg-type]

    home = _home(tmp_path, "killed", archive)
    rng = random.Random(2026)
    killed = attempts = 0
    longest = took  # how long a run takes now: shorter once the archive is in
    while killed < KILLS:
        attempts += 1
        assert attempts <= 4 * KILLS, f"only {killed} kills came while a run was going"
        process = _run(home)
        started = time.monotonic()
        time.sleep(rng.uniform(0.02, longest))
        # kill -9 of the run alone: the processes it started must end by themselves.
        os.kill(process.pid, signal.SIGKILL)
        if process.wait(timeout=60) == -signal.SIGKILL:
            killed += 1
        else:  # it had ended: aim within the time a run takes now
            longest = min(longest, time.monotonic() - started)
        deadline = time.monotonic() + 10
        while _left_behind(home) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _left_behind(home) == []
        if (home / "netgarden.sqlite").exists():
            db = sqlite3.connect(home / "netgarden.sqlite")
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            db.close()
    final = _run(home)
    _, err = final.communicate(timeout=600)
    assert final.returncode == 0, err.decode()
    assert _snapshot(home) == expected
    states = [r["state"] for r in _history(home)]
    assert states[0] == "ok"
    assert set(states[1:]) <= {"interrupted", "ok"}


def _history(home: Path) -> list[dict[str, object]]:
    done = subprocess.run(
        [NETGARDEN, "--home", str(home), "history", "--format", "json", "--limit", "100"],
        capture_output=True,
        text=True,
        check=True,
    )
    found: list[dict[str, object]] = json.loads(done.stdout)
    return found
