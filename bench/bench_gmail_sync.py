"""Benchmark: the Gmail connector against the fake Google server: quota units, pacing, faults.

    python bench/bench_gmail_sync.py [--quick] [--messages 20000]

Fills the fake Google of the tests (`tests/fakes/google.py`, the real client libraries on
loopback) with a realistic mailbox: N messages over the last 300 days, ~30% sent by the user
(me@example.com, label SENT), ~10% newsletters with List-Unsubscribe, ~3% Spam, ~2% Trash, the
rest in the Inbox. The token grants the mail scope only, so only mail is synced. Then, each sync
through `pipeline.runner.sync_source` as `netgarden sync gmail` runs it, in one run:

1. a full sync into a new store with a quota of 1,000,000 units a minute (the pacer never
   waits): units spent by the fake's ledger, per message outside Spam and Trash, HTTP requests,
   largest batch, wall time. Bar: at most 5.1 units a message;
2. 100 new messages, and an incremental sync into the same store. Bar: at most 600 units;
3. a full sync of the same mailbox into a new store at 15,000 units a minute, real clock and
   sleep (it takes about units / 15,000 minutes by design): wall time against the quota-bound
   minimum (units / 15,000 a minute), and the most units the fake saw in any 60 s. Bar: wall
   time at most 15% over the minimum, never more than 15,000 units in a minute;
4. a full sync into a new store with 10% of the API calls answered 429 or 503 (Retry-After: 0;
   backoff waits are recorded, but slept 10 ms at most): faults injected, calls retried. Bar:
   the same exchanges, row for row, as the full sync of run 3 without faults.
Every store is also checked against the exchanges the generator expects (one inbound row per
received message, one outbound row per recipient of a sent one, none for noise).

Prints a table and rewrites its own section of docs/PERFORMANCE.md (between
`<!-- bench:gmail:start -->` and `<!-- bench:gmail:end -->`); `--quick` (2,000 messages, under a
minute) only prints. Run from the repository root with the dev venv's python.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # connectors, pipeline and tests.fakes
sys.path.insert(0, str(HERE))

from _measure import machine, write_section  # noqa: E402
from gen_mbox import DOMAINS, FAMILY, GIVEN  # noqa: E402

from connectors.base import ReadOptions  # noqa: E402
from connectors.gmail.auth import load_credentials  # noqa: E402
from connectors.gmail.client import Caller, Ledger  # noqa: E402
from connectors.gmail.sync import GmailConnector  # noqa: E402
from pipeline.config import GmailAccount  # noqa: E402
from pipeline.mail import MailPolicy  # noqa: E402
from pipeline.runner import SyncSummary, sync_source  # noqa: E402
from pipeline.store import Store  # noqa: E402
from tests.fakes.google import FakeGoogle  # noqa: E402

ME = "me@example.com"
ME_NAME = "Sam Rivera"
MESSAGES = 20_000
QUICK_MESSAGES = 2_000
NEW_MESSAGES = 100
DAYS = 300
FREE_QUOTA = 1_000_000  # units a minute: the pacer never waits
PACED_QUOTA = 15_000
UNITS_BAR = 5.1  # units per message outside Spam and Trash
INCREMENTAL_BAR = 600  # units
PACING_BAR = 1.15  # wall time over the quota-bound minimum
FAULT_RATE = 0.10
FAULT_STATUSES = (429, 503)
FAULT_SEED = 1
MAX_FAULT_SLEEP = 0.01
SEED = 7
PEOPLE = 3_000  # counterparts
#: Share of each kind of message (the rest is received personal mail in the Inbox).
SHARES = {"sent": 0.30, "newsletter": 0.10, "spam": 0.03, "trash": 0.02}
SCOPES = ["https://www.googleapis.com/auth/gmail.metadata"]
INTERACTIONS = "SELECT key, kind, value, direction FROM interactions ORDER BY 1, 2, 3"
OPTIONS = ReadOptions(mail=MailPolicy(me=frozenset({ME})))
BRANDS = (
    "Contoso Weekly",
    "Fabrikam Deals",
    "Northwind Digest",
    "Litware Updates",
    "Proseware Journal",
    "Alpine Ski House",
)
WORDS = (
    "budget", "review", "draft", "plan", "lunch", "trip", "notes", "call", "agenda", "invoice",
    "photos", "report", "launch", "schedule", "question", "update", "meeting", "proposal",
    "slides", "contract", "weekend", "dinner",
)  # fmt: skip
INBOX_EXTRA = ("IMPORTANT", "UNREAD", "CATEGORY_PERSONAL", "CATEGORY_UPDATES", "STARRED")

Row = tuple[str, str, str, str]  # key, kind, value, direction


def _wrap(text: str) -> str:
    """A Markdown paragraph wrapped at 100 columns (code spans and URLs are not broken)."""
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


# --------------------------------------------------------------------------- the mailbox


@dataclass
class Mailbox:
    """What the generator put in the fake: messages by kind, and the exchanges they make."""

    kinds: Counter[str] = field(default_factory=Counter)
    expected: set[Row] = field(default_factory=set)

    @property
    def listed(self) -> int:
        """Messages outside Spam and Trash: what a full listing returns."""
        return sum(self.kinds.values()) - self.kinds["spam"] - self.kinds["trash"]


class Generator:
    """Deterministic messages: counterparts from a pool, some written to far more than others."""

    def __init__(self, seed: int = SEED) -> None:
        self.rng = random.Random(seed)
        rng = self.rng
        people: dict[str, str] = {}
        while len(people) < PEOPLE:
            given, family = rng.choice(GIVEN), rng.choice(FAMILY)
            address = f"{given}.{family}@{rng.choice(DOMAINS)}".lower()
            if rng.random() < 0.2:
                address = address.replace("@", f"{rng.randrange(2, 99)}@")
            people.setdefault(address, f"{given} {family}")
        self.people = list(people.items())
        self.cumulative = list(accumulate(1 / (rank + 1) ** 0.8 for rank in range(PEOPLE)))
        self.serial = 0

    def _people(self, count: int) -> list[tuple[str, str]]:
        """`count` distinct counterparts."""
        chosen: dict[str, str] = {}
        while len(chosen) < count:
            address, name = self.rng.choices(self.people, cum_weights=self.cumulative)[0]
            chosen[address] = name
        return list(chosen.items())

    def _shown(self, address: str, name: str) -> str:
        """An address as a header shows it: `Name <a>`, `"Last, First" <a>` or bare."""
        draw = self.rng.random()
        if draw < 0.7:
            return f"{name} <{address}>"
        if draw < 0.85:
            given, _, family = name.partition(" ")
            return f'"{family}, {given}" <{address}>'
        return address

    def fill(self, fake: FakeGoogle, count: int, start: datetime, end: datetime) -> Mailbox:
        """Deliver `count` messages dated between `start` and `end`, in exact shares."""
        kinds = [kind for kind, share in SHARES.items() for _ in range(round(count * share))]
        kinds += ["inbox"] * (count - len(kinds))
        self.rng.shuffle(kinds)
        box = Mailbox()
        span = (end - start).total_seconds()
        for kind in kinds:
            at = start + timedelta(seconds=self.rng.uniform(0, span))
            self._deliver(fake, kind, at, box)
        return box

    def _deliver(self, fake: FakeGoogle, kind: str, at: datetime, box: Mailbox) -> None:
        rng = self.rng
        self.serial += 1
        zone = timezone(timedelta(minutes=rng.choice((-480, -300, 0, 60, 120, 330, 540))))
        subject = " ".join(rng.sample(WORDS, rng.randrange(2, 5))).capitalize()
        me = f"{ME_NAME} <{ME}>"
        extra: list[tuple[str, str]] = []
        labels: list[str]
        if kind == "sent":
            recipients = self._people(rng.choice((1, 1, 1, 2, 2, 3)))
            cc = self._people(rng.randrange(1, 3)) if rng.random() < 0.2 else []
            cc = [(a, n) for a, n in cc if a not in dict(recipients)]
            sender, to = me, [self._shown(a, n) for a, n in recipients]
            domain = "mail.gmail.com"
            labels = ["SENT"] + (["IMPORTANT"] if rng.random() < 0.3 else [])
            direction = "outbound"
            counterparts = [a for a, _ in recipients + cc]
        elif kind == "newsletter":
            brand = rng.choice(BRANDS)
            domain = brand.split()[0].lower() + ".test"
            sender, to, cc = f"{brand} <updates@{domain}>", [me], []
            extra.append(
                ("List-Unsubscribe", f"<mailto:leave-{self.serial}@{domain}>, "
                 f"<https://{domain}/unsubscribe/{self.serial}>")
            )  # fmt: skip
            labels = ["INBOX", "CATEGORY_PROMOTIONS", "UNREAD"]
            direction, counterparts = "", []
        elif kind == "spam":
            domain = f"offers{rng.randrange(1000)}.test"
            sender, to, cc = f"Prize Desk <winner{self.serial}@{domain}>", [me], []
            labels = ["SPAM"]
            direction, counterparts = "", []
        else:  # inbox or trash: personal mail to the user, maybe with co-recipients
            (address, name), *others = self._people(rng.choice((1, 1, 1, 1, 2, 3)))
            cc = others[1:] if rng.random() < 0.15 else []
            others = others[:1] if cc else others
            sender = self._shown(address, name)
            to = [me] + [self._shown(a, n) for a, n in others]
            domain = address.partition("@")[2]
            labels = ["TRASH"] if kind == "trash" else ["INBOX"]
            labels += rng.sample(INBOX_EXTRA, rng.randrange(0, 3))
            direction, counterparts = "inbound", [address]
        message_id = f"{rng.getrandbits(64):016x}.{self.serial}@{domain}"
        headers = [
            ("From", sender),
            ("To", ", ".join(to)),
            *([("Cc", ", ".join(self._shown(a, n) for a, n in cc))] if cc else []),
            ("Date", format_datetime(at.astimezone(zone))),
            ("Message-ID", f"<{message_id}>"),
            ("Subject", ("Re: " if rng.random() < 0.35 else "") + subject),
            *extra,
        ]
        fake.add_message(headers, labels, at)
        box.kinds[kind] += 1
        if kind in ("sent", "inbox"):
            box.expected.update((f"mid:{message_id}", "email", a, direction) for a in counterparts)


# --------------------------------------------------------------------------- syncs


@dataclass(frozen=True)
class Sync:
    """One sync: what the fake's ledger saw and what the store holds after it."""

    seconds: float
    units: int
    calls: Counter[str]
    requests: int
    max_batch: int
    faults: Counter[int]
    peak_minute: int
    ledger: Ledger
    summary: SyncSummary
    rows: list[Row]


def token_file(folder: Path, fake: FakeGoogle) -> Path:
    """An authorized-user token granting the Gmail metadata scope only."""
    path = folder / "token.json"
    token = {
        "refresh_token": "bench-refresh",
        "token_uri": fake.token_uri,
        "client_id": "bench-client",
        "client_secret": "bench-secret",
        "scopes": SCOPES,
    }
    path.write_text(json.dumps(token), encoding="utf-8")
    return path


def sync(
    fake: FakeGoogle, store_path: Path, token: Path, quota: int, sleep: Any = time.sleep
) -> Sync:
    """`sync_source` of a new GmailConnector into the store at `store_path`, timed."""
    account = GmailAccount("bench", api_endpoint=fake.root, quota_units_per_minute=quota)
    caller = Caller(quota, sleep=sleep)
    connector = GmailConnector(account, load_credentials(token), OPTIONS, caller=caller)
    fake.reset_ledger()
    with Store(store_path) as store:
        start = time.perf_counter()
        summary = sync_source(store, connector)
        seconds = time.perf_counter() - start
        rows = [tuple(map(str, row)) for row in store.db.execute(INTERACTIONS)]
    if fake.crashes:
        print(fake.crashes[0], file=sys.stderr)
        raise SystemExit("the fake Google crashed")
    return Sync(
        seconds=seconds,
        units=fake.units_used,
        calls=Counter(fake.calls),
        requests=fake.requests,
        max_batch=fake.max_batch,
        faults=Counter(fake.faults),
        peak_minute=fake.peak_units(60.0),
        ledger=caller.ledger,
        summary=summary,
        rows=rows,  # type: ignore[arg-type]
    )


def check(name: str, run: Sync, expected: set[Row]) -> bool:
    """Whether a store holds exactly the expected exchanges; says what differs when not."""
    found = set(run.rows)
    if found == expected and len(run.rows) == len(expected):
        print(f"  {name}: {len(found):,} exchanges, as generated")
        return True
    missing, extra = expected - found, found - expected
    print(f"  {name}: {len(missing):,} exchanges missing, {len(extra):,} unexpected")
    for row in sorted(missing)[:3]:
        print(f"    missing {row}")
    for row in sorted(extra)[:3]:
        print(f"    unexpected {row}")
    return False


def describe(run: Sync) -> str:
    calls = ", ".join(f"{name} {count:,}" for name, count in sorted(run.calls.items()))
    return (
        f"  {run.seconds:.1f} s, {run.units:,} units, {run.requests:,} requests "
        f"(largest batch {run.max_batch}); calls: {calls}"
    )


# --------------------------------------------------------------------------- report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=None, help=f"default {MESSAGES:,}")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_MESSAGES:,} messages; prints only"
    )
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "PERFORMANCE.md")
    args = parser.parse_args()
    messages = args.messages or (QUICK_MESSAGES if args.quick else MESSAGES)
    if messages < 1:
        parser.error("--messages must be at least 1")

    began = time.perf_counter()
    now = datetime.now(UTC)
    generator = Generator()
    folder = tempfile.TemporaryDirectory(prefix="netgarden-bench-gmail-")
    work = Path(folder.name)
    with folder, FakeGoogle(ME) as fake:
        token = token_file(work, fake)
        print(f"generating {messages:,} messages over {DAYS} days ...")
        box = generator.fill(fake, messages, now - timedelta(days=DAYS), now - timedelta(hours=1))
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(box.kinds.items()))
        print(f"  {kinds}; {box.listed:,} outside Spam and Trash")

        print(f"1. full sync, quota {FREE_QUOTA:,} units/min ...")
        full = sync(fake, work / "full.sqlite", token, FREE_QUOTA)
        print(describe(full))
        ok = check("store", full, box.expected)
        per_message = full.units / box.listed

        print(f"2. {NEW_MESSAGES} new messages, incremental sync ...")
        new = generator.fill(fake, NEW_MESSAGES, now - timedelta(minutes=50), now)
        box.kinds.update(new.kinds)
        box.expected |= new.expected
        incremental = sync(fake, work / "full.sqlite", token, FREE_QUOTA)
        print(describe(incremental))
        ok &= check("store", incremental, box.expected)

        print(f"3. paced full sync, quota {PACED_QUOTA:,} units/min (takes minutes) ...")
        slept: list[float] = []

        def real_sleep(seconds: float) -> None:
            slept.append(seconds)
            time.sleep(seconds)

        paced = sync(fake, work / "paced.sqlite", token, PACED_QUOTA, sleep=real_sleep)
        print(describe(paced))
        ok &= check("store", paced, box.expected)
        minimum = paced.units / PACED_QUOTA * 60.0
        ratio = paced.seconds / minimum
        print(
            f"  quota-bound minimum {minimum:.1f} s, ratio {ratio:.3f}, "
            f"most units in 60 s {paced.peak_minute:,}; the caller slept {sum(slept):.1f} s "
            f"in {len(slept):,} waits"
        )

        print(f"4. full sync with {FAULT_RATE:.0%} of the calls failing {FAULT_STATUSES} ...")
        waits: list[float] = []

        def short_sleep(seconds: float) -> None:
            waits.append(seconds)
            time.sleep(min(seconds, MAX_FAULT_SLEEP))

        fake.fault_rate(FAULT_RATE, seed=FAULT_SEED, statuses=FAULT_STATUSES, retry_after="0")
        faulted = sync(fake, work / "faults.sqlite", token, FREE_QUOTA, sleep=short_sleep)
        fake.fault_rate(0)
        print(describe(faulted))
        ok &= check("store", faulted, box.expected)
    injected = sum(faulted.faults.values())
    by_status = ", ".join(f"{n:,} x {status}" for status, n in sorted(faulted.faults.items()))
    same = faulted.rows == paced.rows
    keys = Counter(key for key, *_ in faulted.rows)
    print(
        f"  faults injected {injected:,} ({by_status}); calls retried {faulted.ledger.retries:,}; "
        f"backoff asked {faulted.ledger.waited:.0f} s over {len(waits):,} waits; "
        f"{len(keys):,} messages recorded; same rows as run 3: {same}"
    )
    total = time.perf_counter() - began

    bars = [
        (
            "full sync: quota units per message outside Spam and Trash",
            f"{per_message:.3f} ({full.units:,} / {box.listed - new.listed:,})",
            f"at most {UNITS_BAR}",
            per_message <= UNITS_BAR,
        ),
        (
            f"incremental sync of {NEW_MESSAGES} new messages: quota units",
            f"{incremental.units:,}",
            f"at most {INCREMENTAL_BAR}",
            incremental.units <= INCREMENTAL_BAR,
        ),
        (
            f"paced full sync at {PACED_QUOTA:,} units/min: wall time / quota-bound minimum",
            f"{ratio:.3f} ({paced.seconds:.1f} s / {minimum:.1f} s)",
            f"at most {PACING_BAR}",
            ratio <= PACING_BAR,
        ),
        (
            "paced full sync: most units in any 60 s (fake's ledger)",
            f"{paced.peak_minute:,}",
            f"at most {PACED_QUOTA:,}",
            paced.peak_minute <= PACED_QUOTA,
        ),
        (
            f"faults ({FAULT_RATE:.0%} of calls {' or '.join(map(str, FAULT_STATUSES))}): "
            "exchanges as without faults",
            f"{'identical' if same else 'DIFFERENT'} ({len(faulted.rows):,} rows, "
            f"{len(keys):,} messages)",
            "identical",
            same and ok,
        ),
    ]
    table = ["| measure | measured | bar | |", "|---|---:|---:|---|"]
    for name, measured, bar, met in bars:
        table.append(f"| {name} | {measured} | {bar} | {'met' if met else 'NOT met'} |")
    runs = [
        "| sync | quota (units/min) | units | messages.list | messages.get | history.list "
        "| requests | largest batch | faults | retries | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, quota, run in (
        (f"1. full, {box.listed - new.listed:,} messages listed", FREE_QUOTA, full),
        (f"2. incremental, {NEW_MESSAGES} new", FREE_QUOTA, incremental),
        ("3. full, paced", PACED_QUOTA, paced),
        ("4. full, with faults", FREE_QUOTA, faulted),
    ):
        runs.append(
            f"| {name} | {quota:,} | {run.units:,} | {run.calls['messages.list']:,} | "
            f"{run.calls['messages.get']:,} | {run.calls['history.list']:,} | "
            f"{run.requests:,} | {run.max_batch} | {sum(run.faults.values()):,} | "
            f"{run.ledger.retries:,} | {run.seconds:.1f} |"
        )
    print("\n".join(table))
    print("\n".join(runs))
    met_all = all(met for *_, met in bars)
    print(f"bars: {'all met' if met_all else 'NOT all met'}; the benchmark took {total:.0f} s")
    if args.quick:
        print("--quick: docs/PERFORMANCE.md not written")
        return

    intro = (
        f"Measured by `bench/bench_gmail_sync.py` on {machine()}: the Gmail connector, through "
        "`pipeline.runner.sync_source` and the real Google client libraries, against the fake "
        "Google server of the tests (`tests/fakes/google.py`, on loopback), whose ledger counts "
        f"the quota units Gmail charges (5 a `messages.list` or `messages.get`, 2 a "
        f"`history.list`, 1 a profile or send-as read). The mailbox: {messages:,} generated "
        f"messages over the last {DAYS} days ({box.kinds['sent'] - new.kinds['sent']:,} sent by "
        f"the user, {box.kinds['newsletter'] - new.kinds['newsletter']:,} newsletters with "
        f"List-Unsubscribe, {box.kinds['spam'] - new.kinds['spam']:,} in Spam, "
        f"{box.kinds['trash'] - new.kinds['trash']:,} in Trash, the rest received in the "
        "Inbox; 1-3 recipients, some Cc), and only the mail scope granted."
    )
    how = (
        f"Run 1 is a full sync into a new store with a quota of {FREE_QUOTA:,} units a minute, "
        f"so the pacer never waits. Run 2 adds {NEW_MESSAGES} messages and syncs the same store "
        "again (`history.list`). Run 3 is a full sync of the same mailbox into a new store at "
        f"{PACED_QUOTA:,} units a minute with the real clock; its quota-bound minimum is its "
        f"units / {PACED_QUOTA:,} minutes, and the fake (which does not refuse calls here) "
        "reports the most units spent in any 60 s. Run 4 is a full sync into a new store with "
        f"{FAULT_RATE:.0%} of the API calls, batch parts included, answered "
        f"{' or '.join(map(str, FAULT_STATUSES))} with `Retry-After: 0` (seed {FAULT_SEED}); the "
        "backoff waits the caller asks for are recorded but slept 10 ms at most. Its "
        "`interactions` rows (key, kind, value, direction) must equal those of run 3, and every "
        "store must hold exactly the exchanges the generator expects: one inbound row per "
        "received personal message, one outbound row per recipient of a sent one, none for "
        "newsletters, Spam or Trash."
    )
    faults_text = (
        f"Run 3: the caller slept {sum(slept):.0f} s in {len(slept):,} waits for quota. "
        f"Run 4: {injected:,} faults injected ({by_status}), {faulted.ledger.retries:,} calls "
        f"retried, {len(keys):,} messages recorded once each. The whole benchmark took "
        f"{total / 60:.1f} minutes."
    )
    report = f"""## Google accounts: Gmail sync

{_wrap(intro)}

{chr(10).join(table)}

{chr(10).join(runs)}

{_wrap(faults_text)}

{_wrap(how)}
"""
    write_section(args.out, "gmail", report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
