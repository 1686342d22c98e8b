"""Deterministic data for bench/bench_people_scale.py: an address book and its exchanges.

- `write_book(path, people)`: vCard 3.0, one card a person: a name, one e-mail at one of 60
  company domains (a third of the people) or a mail provider, an organization, and labels
  (CATEGORIES) on some: Investors on one in 40, Mentors on one in 25, Friends on one in 9.
- `write_exchanges(path, people, rows)`: netgarden's interactions CSV, in date order over the
  eight years up to 2026-11-30, written day by day so memory stays flat; a fifth of the people
  (every fifth) have no exchange, the others are picked with a skew (a few people account for
  many exchanges, as in real mail); 1% of the rows fall after REPORT_DAY.
- `write_nightly(path, people, rows)`: the exchanges of the day after the last one.

Every address is at a reserved `.example` domain. The same arguments give the same bytes.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPORT_DAY = date(2026, 11, 1)
LAST_DAY = date(2026, 11, 30)
FIRST_DAY = LAST_DAY - timedelta(days=8 * 365 + 1)
COMPANIES = [f"company{n}.example" for n in range(57)] + [
    "acme.example",
    "globex.example",
    "initech.example",
]
PROVIDERS = ["mail.example", "post.example", "inbox.example"]
FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Emeka", "Fatima", "Goro", "Hana", "Ivan", "Jun"]
LAST = ["Okafor", "Schmidt", "Tanaka", "Novak", "García", "Ali", "Smith", "Kowalski", "Lee"]
CHANNELS = ["email", "email", "email", "call", "meeting", "coffee"]
DIRECTIONS = ["outbound", "inbound", "inbound", "mutual"]
HEADER = "date,email,direction,channel\n"


def address(person: int) -> str:
    """The e-mail of person `person`."""
    if person % 3 == 0:
        return f"p{person}@{COMPANIES[person % len(COMPANIES)]}"
    return f"p{person}@{PROVIDERS[person % len(PROVIDERS)]}"


def write_book(path: Path, people: int) -> None:
    rng = random.Random(1)
    with path.open("w", encoding="utf-8", newline="") as out:
        for n in range(people):
            labels = [
                label
                for label, every in (("Investors", 40), ("Mentors", 25), ("Friends", 9))
                if n % every == 1
            ]
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {n}"
            out.write(
                "BEGIN:VCARD\r\nVERSION:3.0\r\n"
                f"UID:person-{n}\r\nFN:{name}\r\n"
                f"EMAIL;TYPE=INTERNET:{address(n)}\r\n"
                f"ORG:{address(n).split('@')[1].split('.')[0].title()}\r\n"
                + (f"CATEGORIES:{','.join(labels)}\r\n" if labels else "")
                + "END:VCARD\r\n"
            )


def _someone(rng: random.Random, people: int) -> int:
    """A person with exchanges (never every fifth one), skewed toward low numbers."""
    while True:
        n = min(int(rng.paretovariate(0.6)) - 1, people - 1) if rng.random() < 0.3 else None
        person = n if n is not None else rng.randrange(people)
        if person % 5 != 0:
            return person


def _rows_of(rng: random.Random, day: date, count: int, people: int) -> list[str]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    seconds = sorted(rng.randrange(86_400) for _ in range(count))
    return [
        f"{(start + timedelta(seconds=s)).strftime('%Y-%m-%dT%H:%M:%SZ')},"
        f"{address(_someone(rng, people))},{rng.choice(DIRECTIONS)},{rng.choice(CHANNELS)}\n"
        for s in seconds
    ]


def write_exchanges(path: Path, people: int, rows: int) -> None:
    rng = random.Random(2)
    after = rows // 100  # the rows after REPORT_DAY
    before_days = (REPORT_DAY - FIRST_DAY).days + 1
    after_days = (LAST_DAY - REPORT_DAY).days
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for days, total, first in (
            (before_days, rows - after, FIRST_DAY),
            (after_days, after, REPORT_DAY + timedelta(days=1)),
        ):
            for d in range(days):
                count = total * (d + 1) // days - total * d // days
                out.writelines(_rows_of(rng, first + timedelta(days=d), count, people))


def write_nightly(path: Path, people: int, rows: int) -> None:
    rng = random.Random(3)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        out.writelines(_rows_of(rng, LAST_DAY + timedelta(days=1), rows, people))
