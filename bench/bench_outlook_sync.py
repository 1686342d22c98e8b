"""Benchmark: the Outlook connector against the fake Microsoft: requests, pages, throttling.

    python bench/bench_outlook_sync.py [--quick] [--messages 20000]

Fills the fake Microsoft of the tests (`tests/fakes/microsoft.py`: identity platform and Graph
over TLS on loopback, driven by the real msal and requests) with a realistic mailbox: N messages
over the last 300 days, ~30% sent by the user (me@example.com, in Sent Items), ~10% newsletters
with List-Unsubscribe, the rest personal mail received in the Inbox; plus contacts (one per 40
messages) and meetings (one per 100 messages, some still to come). The user signs in once with
the device code flow (approved as soon as the code is shown); every sync goes through
`pipeline.runner.sync_source` as `netgarden sync outlook` runs it, with a new Graph client, in
one run:

1. a full sync into a new store at the server's default page cap (1,000 items, what the client
   asks for with `Prefer: odata.maxpagesize=1000`), then another into a new store with the
   server capping pages at 100: requests the connector sent (`graph.ledger.requests`) against
   delta pages the server served. Bar: at most 1.05 requests a page;
2. 100 new messages (50 in the Inbox, 50 in Sent Items), and an incremental sync into the store
   of run 1 (its four deltas: inbox, sentitems, contacts, calendar). Bar: at most 3 requests a
   folder;
3. a full sync into a new store, pages capped at 100 again (a few hundred calls rather than two
   dozen), with 10% of the Graph calls answered 429 with `Retry-After: 0.2` (real sleeps):
   throttled answers, seconds waited. Bar: at least one 429, and the same exchanges,
   row for row, as the store of runs 1 and 2, every message read once, and no request sent
   before its Retry-After ended (the fake's `early_retries`).
Every store is also checked against the exchanges the generator expects (one inbound row per
received personal message, one outbound row per recipient of a sent one, one mutual row per
person at a meeting that took place, none for newsletters), and no run may have more than 4
Graph requests in flight at once (the fake's `max_concurrent_seen`).

Prints a table and rewrites its own section of docs/PERFORMANCE.md (between
`<!-- bench:outlook:start -->` and `<!-- bench:outlook:end -->`); `--quick` (2,000 messages,
under a minute) only prints. Run from the repository root with the dev venv's python.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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
from connectors.outlook.auth import device_sign_in, load_cache, public_app, user_token  # noqa: E402
from connectors.outlook.graph import Graph, GraphLedger  # noqa: E402
from connectors.outlook.sync import PAGE_SIZE, OutlookConnector  # noqa: E402
from pipeline.config import OutlookAccount  # noqa: E402
from pipeline.mail import MailPolicy  # noqa: E402
from pipeline.runner import SyncSummary, sync_source  # noqa: E402
from pipeline.store import Store  # noqa: E402
from tests.fakes.microsoft import FakeMicrosoft  # noqa: E402

ME = "me@example.com"
ME_NAME = "Sam Rivera"
MESSAGES = 20_000
QUICK_MESSAGES = 2_000
NEW_MESSAGES = 100  # half to the Inbox, half to Sent Items
DAYS = 300
SMALL_PAGES = 100  # the server's page cap of the second full sync
REQUESTS_BAR = 1.05  # requests sent per delta page served
INCREMENTAL_BAR = 3  # requests per folder
CONCURRENCY_BAR = 4  # Graph requests in flight at once
THROTTLE_RATE = 0.10
THROTTLE_SEED = 1
THROTTLE_RETRY_AFTER = "0.2"  # seconds; Graph sends whole seconds, a fraction keeps it short
THROTTLE_PAGES = SMALL_PAGES  # page cap of the throttled sync: 10% of hundreds of calls
SEED = 7
PEOPLE = 3_000  # counterparts
MESSAGES_PER_CONTACT = 40
MESSAGES_PER_EVENT = 100
UPCOMING_SHARE = 0.15  # meetings still to come: remembered, not yet exchanges
#: Share of each kind of message (the rest is received personal mail in the Inbox).
SHARES = {"sent": 0.30, "newsletter": 0.10}
NEW_SHARES = {"sent": 0.50, "newsletter": 0.10}  # 50 to Sent Items, 50 to the Inbox
FOLDERS = {"sent": "sentitems", "newsletter": "inbox", "inbox": "inbox"}
PARTS = ("inbox", "sentitems", "contacts", "calendarView")  # the fake's page labels
INTERACTIONS = "SELECT key, kind, value, direction FROM interactions ORDER BY 1, 2, 3"
OPTIONS = ReadOptions(mail=MailPolicy())
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
TITLES = ("Engineer", "Manager", "Designer", "Director", "Analyst", "Consultant", "")
RESPONSES = ("accepted", "accepted", "accepted", "tentativelyAccepted", "none", "declined")

Row = tuple[str, str, str, str]  # key, kind, value, direction


def _wrap(text: str) -> str:
    """A Markdown paragraph wrapped at 100 columns (code spans and URLs are not broken)."""
    return textwrap.fill(text, 100, break_long_words=False, break_on_hyphens=False)


# --------------------------------------------------------------------------- the mailbox


@dataclass
class Mailbox:
    """What the generator put in the fake: messages by kind and folder, contacts, meetings,
    and the exchanges they make."""

    kinds: Counter[str] = field(default_factory=Counter)
    folders: Counter[str] = field(default_factory=Counter)
    contacts: int = 0
    events: Counter[str] = field(default_factory=Counter)
    expected: set[Row] = field(default_factory=set)

    @property
    def messages(self) -> int:
        return sum(self.kinds.values())


class Generator:
    """Deterministic items: counterparts from a pool, some written to far more than others."""

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

    def _shown(self, address: str, name: str) -> tuple[str, str]:
        """(name, address) as Graph gives it: `First Last`, `Last, First` or none (Graph then
        repeats the address)."""
        draw = self.rng.random()
        if draw < 0.7:
            return name, address
        if draw < 0.85:
            given, _, family = name.partition(" ")
            return f"{family}, {given}", address
        return "", address

    def fill(
        self,
        fake: FakeMicrosoft,
        count: int,
        start: datetime,
        end: datetime,
        shares: dict[str, float] = SHARES,
    ) -> Mailbox:
        """Deliver `count` messages dated between `start` and `end`, in exact shares."""
        kinds = [kind for kind, share in shares.items() for _ in range(round(count * share))]
        kinds += ["inbox"] * (count - len(kinds))
        self.rng.shuffle(kinds)
        box = Mailbox()
        span = (end - start).total_seconds()
        for kind in kinds:
            at = start + timedelta(seconds=round(self.rng.uniform(0, span)))
            self._deliver(fake, kind, at, box)
        return box

    def _deliver(self, fake: FakeMicrosoft, kind: str, at: datetime, box: Mailbox) -> None:
        rng = self.rng
        self.serial += 1
        subject = " ".join(rng.sample(WORDS, rng.randrange(2, 5))).capitalize()
        me = (ME_NAME, ME)
        headers: dict[str, str] = {}
        cc: list[tuple[str, str]] = []
        sent = at
        if kind == "sent":
            recipients = self._people(rng.choice((1, 1, 1, 2, 2, 3)))
            cc = self._people(rng.randrange(1, 3)) if rng.random() < 0.2 else []
            cc = [(a, n) for a, n in cc if a not in dict(recipients)]
            sender, to = me, [self._shown(a, n) for a, n in recipients]
            domain = "outlook.example.com"
            direction = "outbound"
            counterparts = [a for a, _ in recipients + cc]
        elif kind == "newsletter":
            brand = rng.choice(BRANDS)
            domain = brand.split()[0].lower() + ".test"
            sender, to = (brand, f"updates@{domain}"), [me]
            headers["List-Unsubscribe"] = (
                f"<mailto:leave-{self.serial}@{domain}>, "
                f"<https://{domain}/unsubscribe/{self.serial}>"
            )
            headers["List-Id"] = f"{brand} <news.{domain}>"
            direction, counterparts = "", []
        else:  # personal mail to the user, maybe with co-recipients
            (address, name), *others = self._people(rng.choice((1, 1, 1, 1, 2, 3)))
            cc = others[1:] if rng.random() < 0.15 else []
            others = others[:1] if cc else others
            sender = self._shown(address, name)
            to = [me] + [self._shown(a, n) for a, n in others]
            domain = address.partition("@")[2]
            sent = at - timedelta(seconds=rng.randrange(1, 90))  # delivery takes a moment
            direction, counterparts = "inbound", [address]
        message_id = f"{rng.getrandbits(64):016x}.{self.serial}@{domain}"
        fake.add_message(
            FOLDERS[kind],
            from_=sender,
            to=to,
            cc=[self._shown(a, n) for a, n in cc],
            sent=sent,
            received=at,
            internet_message_id=f"<{message_id}>",
            headers=headers,
            subject=("RE: " if rng.random() < 0.35 else "") + subject,
            is_read=rng.random() < 0.8,
        )
        box.kinds[kind] += 1
        box.folders[FOLDERS[kind]] += 1
        box.expected.update((f"mid:{message_id}", "email", a, direction) for a in counterparts)

    def add_contacts(self, fake: FakeMicrosoft, count: int, box: Mailbox) -> None:
        """`count` contacts, from the people written to most often."""
        rng = self.rng
        for address, name in self.people[:count]:
            phone = f"+1 425 555 01{rng.randrange(100):02d}" if rng.random() < 0.4 else None
            fake.add_contact(
                name,
                emails=[(name, address)],
                mobile_phone=phone,
                company_name=address.partition("@")[2].split(".")[0].title(),
                job_title=rng.choice(TITLES) or None,
            )
            box.contacts += 1

    def add_events(self, fake: FakeMicrosoft, count: int, now: datetime, box: Mailbox) -> None:
        """`count` single meetings over the last DAYS days, some of them still to come (up to
        60 days ahead); organised by the user or by someone else, 1-4 other people, a room
        sometimes, some declined, a few cancelled."""
        rng = self.rng
        for _ in range(count):
            upcoming = rng.random() < UPCOMING_SHARE
            if upcoming:
                start = now + timedelta(days=rng.uniform(1, 60))
            else:
                start = now - timedelta(days=rng.uniform(0.2, DAYS))
            start = start.replace(minute=(start.minute // 30) * 30, second=0, microsecond=0)
            end = start + timedelta(minutes=rng.choice((30, 30, 60, 60, 90)))
            people = self._people(rng.randrange(1, 5))
            mine = rng.random() < 0.5
            address, name = people[0]
            organizer = (ME_NAME, ME) if mine else (name, address)
            invited = people if mine else people[1:]
            responses = [rng.choice(RESPONSES) for _ in invited]
            attendees: list[Any] = [
                ((n, a), "required" if rng.random() < 0.8 else "optional", response)
                for (a, n), response in zip(invited, responses, strict=True)
            ]
            me_declined = False
            if not mine:
                me_declined = rng.random() < 0.1
                response = "declined" if me_declined else "accepted"
                attendees.append(((ME_NAME, ME), "required", response))
            if rng.random() < 0.3:
                attendees.append((("Room 4.1", "room41@contoso.test"), "resource", "accepted"))
            cancelled = rng.random() < 0.05
            uid = f"040000008200E00074C5B7101A82E008{rng.getrandbits(128):032X}"
            fake.add_event(
                " ".join(rng.sample(WORDS, 2)).capitalize(),
                start=start,
                end=end,
                organizer=organizer,
                attendees=attendees,
                ical_uid=uid,
                is_cancelled=cancelled,
            )
            others = [a for (a, _), r in zip(invited, responses, strict=True) if r != "declined"]
            if not mine:
                others.insert(0, address)
            if upcoming:
                box.events["upcoming"] += 1
            elif cancelled or me_declined or not others:
                box.events["not counted"] += 1
            else:
                box.events["took place"] += 1
                key = f"ics:{uid}:{start.isoformat()}"
                box.expected.update((key, "email", a, "mutual") for a in others)


# --------------------------------------------------------------------------- syncs


@dataclass(frozen=True)
class Sync:
    """One sync: what the connector's and the fake's ledgers saw and what the store holds."""

    seconds: float
    requests: int  # Graph requests the connector sent (graph.ledger.requests)
    served: int  # Graph requests the fake answered, refused ones included
    pages: Counter[str]  # delta pages served, by the fake's folder label
    items: Counter[str]  # items on those pages, by label
    throttled: Counter[str]  # 429s by error code
    early_retries: int
    max_concurrent: int
    read: int  # messages the connector read
    waits: list[float]
    ledger: GraphLedger
    summary: SyncSummary
    rows: list[Row]

    @property
    def page_total(self) -> int:
        return sum(self.pages.values())

    @property
    def per_page(self) -> float:
        return self.requests / max(1, self.page_total)


@dataclass
class SignedIn:
    """The signed-in user: account settings, msal application and address."""

    settings: OutlookAccount
    app: Any
    username: str

    def token(self, fresh: bool) -> str:
        return user_token(self.app, "bench", fresh=fresh)[0]


def sign_in(fake: FakeMicrosoft, folder: Path) -> SignedIn:
    """A device-code sign-in, approved as soon as the code is shown (msal's cache in memory)."""
    settings = OutlookAccount(
        "bench",
        client_id="bench-client",
        authority=fake.authority,
        graph_endpoint=fake.graph_endpoint,
    )
    app = public_app(settings, load_cache(folder / "no-cache.json"))
    device_sign_in(app, lambda message: fake.approve_device())
    _, username = user_token(app, "bench")
    return SignedIn(settings, app, username)


def sync(
    fake: FakeMicrosoft,
    store_path: Path,
    session: SignedIn,
    sleep: Callable[[float], None] = time.sleep,
) -> Sync:
    """`sync_source` of a new OutlookConnector (and Graph client) into `store_path`, timed."""
    waits: list[float] = []

    def recorded_sleep(seconds: float) -> None:
        waits.append(seconds)
        sleep(seconds)

    graph = Graph(session.settings.graph_url, session.token, sleep=recorded_sleep)
    connector = OutlookConnector(session.settings, graph, OPTIONS, frozenset({session.username}))
    fake.reset_ledger()
    with Store(store_path) as store:
        start = time.perf_counter()
        summary = sync_source(store, connector)
        seconds = time.perf_counter() - start
        rows = [tuple(map(str, row)) for row in store.db.execute(INTERACTIONS)]
    if fake.crashes:
        print(fake.crashes[0], file=sys.stderr)
        raise SystemExit("the fake Microsoft crashed")
    items: Counter[str] = Counter()
    for _, _, label, count in fake.page_log:
        items[label] += count
    return Sync(
        seconds=seconds,
        requests=graph.ledger.requests,
        served=fake.requests,
        pages=Counter(fake.pages),
        items=items,
        throttled=Counter(fake.throttled),
        early_retries=fake.early_retries,
        max_concurrent=fake.max_concurrent_seen,
        read=connector.read,
        waits=waits,
        ledger=graph.ledger,
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
    pages = ", ".join(f"{label} {run.pages[label]:,}" for label in PARTS)
    throttled = sum(run.throttled.values())
    return (
        f"  {run.seconds:.1f} s, {run.requests:,} requests sent ({run.served:,} answered), "
        f"{run.page_total:,} pages ({pages}), {run.per_page:.3f} requests a page; "
        f"{run.read:,} messages read; {throttled:,} throttled, waited {run.ledger.waited:.1f} s; "
        f"at most {run.max_concurrent} in flight"
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
    now = datetime.now(UTC).replace(microsecond=0)
    generator = Generator()
    folder = tempfile.TemporaryDirectory(prefix="netgarden-bench-outlook-")
    work = Path(folder.name)
    with folder, FakeMicrosoft(ME, name=ME_NAME) as fake:
        # How a user points netgarden at a private CA: requests (and so msal) trust the bundle.
        os.environ["REQUESTS_CA_BUNDLE"] = fake.ca_file
        os.environ.pop("CURL_CA_BUNDLE", None)
        session = sign_in(fake, work)
        contacts = max(1, messages // MESSAGES_PER_CONTACT)
        events = max(1, messages // MESSAGES_PER_EVENT)
        print(
            f"generating {messages:,} messages over {DAYS} days, {contacts:,} contacts, "
            f"{events:,} meetings ..."
        )
        box = generator.fill(fake, messages, now - timedelta(days=DAYS), now - timedelta(hours=1))
        generator.add_contacts(fake, contacts, box)
        generator.add_events(fake, events, now, box)
        kinds = ", ".join(f"{kind} {count:,}" for kind, count in sorted(box.kinds.items()))
        folders = ", ".join(f"{name} {count:,}" for name, count in sorted(box.folders.items()))
        meetings = ", ".join(f"{what} {count:,}" for what, count in sorted(box.events.items()))
        print(f"  {kinds}; folders: {folders}; meetings: {meetings}")

        print(f"1. full sync, server pages of up to {fake.max_page_size:,} ...")
        default_cap = fake.max_page_size
        full = sync(fake, work / "full.sqlite", session)
        print(describe(full))
        ok = check("store", full, box.expected)
        ok &= full.summary.contacts.new == box.contacts and full.read == box.messages

        print(f"1b. full sync into a new store, server pages of up to {SMALL_PAGES} ...")
        fake.max_page_size = SMALL_PAGES
        small = sync(fake, work / "small.sqlite", session)
        fake.max_page_size = default_cap
        print(describe(small))
        ok &= check("store", small, box.expected) and small.read == box.messages

        print(f"2. {NEW_MESSAGES} new messages (half Inbox, half Sent Items), incremental sync ...")
        new = generator.fill(fake, NEW_MESSAGES, now - timedelta(minutes=50), now, NEW_SHARES)
        box.kinds.update(new.kinds)
        box.folders.update(new.folders)
        box.expected |= new.expected
        incremental = sync(fake, work / "full.sqlite", session)
        print(describe(incremental))
        ok &= check("store", incremental, box.expected) and incremental.read == new.messages
        per_folder = {label: incremental.pages[label] for label in PARTS}

        print(
            f"3. full sync, pages of up to {THROTTLE_PAGES}, {THROTTLE_RATE:.0%} of the calls "
            f"throttled (429, Retry-After {THROTTLE_RETRY_AFTER} s, real sleeps) ..."
        )
        fake.max_page_size = THROTTLE_PAGES
        fake.throttle_rate(THROTTLE_RATE, seed=THROTTLE_SEED, retry_after=THROTTLE_RETRY_AFTER)
        throttled = sync(fake, work / "throttled.sqlite", session)
        fake.throttle_rate(0)
        fake.max_page_size = default_cap
        print(describe(throttled))
        ok &= check("store", throttled, box.expected)
    injected = sum(throttled.throttled.values())
    by_code = ", ".join(f"{n:,} x {code}" for code, n in sorted(throttled.throttled.items()))
    same = throttled.rows == incremental.rows
    keys = Counter(key for key, *_ in throttled.rows if key.startswith("mid:"))
    read_once = throttled.read == box.messages and sum(
        throttled.items[label] for label in ("inbox", "sentitems")
    ) == sum(box.folders.values())
    print(
        f"  429s {injected:,} ({by_code}); the connector saw {throttled.ledger.throttled:,}, "
        f"waited {throttled.ledger.waited:.2f} s over {len(throttled.waits):,} sleeps; "
        f"requests before Retry-After {throttled.early_retries}; {throttled.read:,} messages "
        f"read of {box.messages:,}; {len(keys):,} messages recorded; same rows as runs 1-2: {same}"
    )
    runs_list = (full, small, incremental, throttled)
    in_flight = max(run.max_concurrent for run in runs_list)
    total = time.perf_counter() - began

    bars = [
        (
            f"full sync, server pages of up to {default_cap:,}: requests sent / delta pages served",
            f"{full.per_page:.3f} ({full.requests:,} / {full.page_total:,})",
            f"at most {REQUESTS_BAR}",
            full.per_page <= REQUESTS_BAR,
        ),
        (
            f"full sync, server pages of up to {SMALL_PAGES}: requests sent / delta pages served",
            f"{small.per_page:.3f} ({small.requests:,} / {small.page_total:,})",
            f"at most {REQUESTS_BAR}",
            small.per_page <= REQUESTS_BAR,
        ),
        (
            f"incremental sync of {NEW_MESSAGES} new messages: requests per folder",
            ", ".join(f"{label} {count}" for label, count in per_folder.items())
            + f" ({incremental.requests} in all)",
            f"at most {INCREMENTAL_BAR} each",
            max(per_folder.values()) <= INCREMENTAL_BAR
            and incremental.requests <= INCREMENTAL_BAR * len(PARTS),
        ),
        (
            f"throttled ({THROTTLE_RATE:.0%} of calls 429): exchanges as without throttling",
            f"{'identical' if same else 'DIFFERENT'} ({len(throttled.rows):,} rows, "
            f"{len(keys):,} messages, {throttled.read:,} read once)",
            "identical",
            injected > 0 and same and read_once and ok,
        ),
        (
            "throttled: requests sent before their Retry-After ended (fake's early_retries)",
            f"{throttled.early_retries}",
            "0",
            throttled.early_retries == 0,
        ),
        (
            "most Graph requests in flight at once, all runs (fake's max_concurrent_seen)",
            f"{in_flight}",
            f"at most {CONCURRENCY_BAR}",
            in_flight <= CONCURRENCY_BAR,
        ),
    ]
    table = ["| measure | measured | bar | |", "|---|---:|---:|---|"]
    for name, measured, bar, met in bars:
        table.append(f"| {name} | {measured} | {bar} | {'met' if met else 'NOT met'} |")
    runs = [
        "| sync | page cap | messages read | pages: inbox | sentitems | contacts | calendar "
        "| requests sent | requests / page | 429s | waited (s) | in flight | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, cap, run in (
        (f"1. full, {box.messages - new.messages:,} messages", default_cap, full),
        ("1b. full, small pages", SMALL_PAGES, small),
        (f"2. incremental, {NEW_MESSAGES} new", default_cap, incremental),
        ("3. full, throttled", THROTTLE_PAGES, throttled),
    ):
        pages = " | ".join(f"{run.pages[label]:,}" for label in PARTS)
        runs.append(
            f"| {name} | {cap:,} | {run.read:,} | {pages} | {run.requests:,} | "
            f"{run.per_page:.3f} | {sum(run.throttled.values()):,} | {run.ledger.waited:.1f} | "
            f"{run.max_concurrent} | {run.seconds:.1f} |"
        )
    print("\n".join(table))
    print("\n".join(runs))
    met_all = all(met for *_, met in bars)
    print(f"bars: {'all met' if met_all else 'NOT all met'}; the benchmark took {total:.0f} s")
    if args.quick:
        print("--quick: docs/PERFORMANCE.md not written")
        return

    sent_first = box.kinds["sent"] - new.kinds["sent"]
    newsletters_first = box.kinds["newsletter"] - new.kinds["newsletter"]
    intro = (
        f"Measured by `bench/bench_outlook_sync.py` on {machine()}: the Outlook connector, "
        "through `pipeline.runner.sync_source` and the real msal and requests, against the fake "
        "Microsoft of the tests (`tests/fakes/microsoft.py`: identity platform and Graph over "
        "TLS on loopback), signed in once with the device code flow. The mailbox: "
        f"{messages:,} generated messages over the last {DAYS} days "
        f"({box.folders['inbox'] - new.folders['inbox']:,} in the Inbox, "
        f"{box.folders['sentitems'] - new.folders['sentitems']:,} in Sent Items: "
        f"{sent_first:,} sent by the user, {newsletters_first:,} newsletters with "
        "List-Unsubscribe, the rest personal mail received; 1-3 recipients, some Cc), "
        f"{box.contacts:,} contacts and {events:,} meetings ({box.events['took place']:,} that "
        f"took place and count, {box.events['not counted']:,} cancelled, declined or with no "
        f"one else, {box.events['upcoming']:,} still to come)."
    )
    how = (
        "Each run is a new connector and Graph client. Run 1 is a full sync into a new store "
        f"at the server's default page cap of {default_cap:,} items (the connector asks for "
        f"`Prefer: odata.maxpagesize={PAGE_SIZE}`); run 1b is the same into another new store "
        f"with the server capping pages at {SMALL_PAGES}. Requests are what the connector sent "
        "(`graph.ledger.requests`), pages the delta pages the fake served (`fake.pages`), per "
        f"part. Run 2 adds {new.folders['inbox']} messages to the Inbox and "
        f"{new.folders['sentitems']} to Sent Items and syncs the store of run 1 again from its "
        "saved deltaLinks (inbox, sentitems, contacts, calendar). Run 3 is a full sync into a "
        f"new store with pages capped at {THROTTLE_PAGES} again (so that a few hundred calls, "
        f"not two dozen, draw the faults) and {THROTTLE_RATE:.0%} of the Graph calls answered "
        f"429 TooManyRequests with `Retry-After: {THROTTLE_RETRY_AFTER}` (seed "
        f"{THROTTLE_SEED}) and real sleeps; "
        "the fake counts every request that arrives before a Retry-After it gave has ended. Its "
        "`interactions` rows (key, kind, value, direction) must equal those of the store of "
        "runs 1 and 2, every message must be read once (no page served twice), and every store "
        "must hold exactly the exchanges the generator expects: one inbound row per received "
        "personal message, one outbound row per recipient of a sent one, one mutual row per "
        "person at a meeting that took place, none for newsletters. The wall times are mostly "
        "the fake's own: for every page it serves it builds the folder's whole delta round and "
        "slices it, so its work grows with pages times folder size (run 1b serves the "
        f"{box.folders['inbox'] - new.folders['inbox']:,}-message Inbox in "
        f"{small.pages['inbox']:,} pages); they say little about the connector or about Graph."
    )
    throttle_text = (
        f"Run 3: {injected:,} calls answered 429 ({by_code}); the connector counted "
        f"{throttled.ledger.throttled:,}, waited {throttled.ledger.waited:.1f} s in "
        f"{len(throttled.waits):,} sleeps and sent {throttled.early_retries} requests before "
        f"their Retry-After; {throttled.read:,} messages read once each, {len(keys):,} "
        f"recorded. Graph requests in flight at once, in any run: at most {in_flight}. The "
        f"whole benchmark took {total / 60:.1f} minutes."
    )
    report = f"""## Microsoft accounts: Outlook sync

{_wrap(intro)}

{chr(10).join(table)}

{chr(10).join(runs)}

{_wrap(throttle_text)}

{_wrap(how)}
"""
    write_section(args.out, "outlook", report)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
