"""The record of scheduled runs (`netgarden run`): when each ran and how it ended, what it did
with each source, and its report's figures per network (the trend). Kept in the store, written
by the run in small transactions of their own, so that a run killed at any moment leaves what
it had recorded so far and nothing half-written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, field, replace
from datetime import UTC, date, datetime

from pipeline.store import Store

#: The columns of trend.csv, one row per run and network.
TREND_COLUMNS: tuple[str, ...] = (
    "run_at",
    "network",
    "contacts",
    "overdue",
    "due_soon",
    "ok",
    "never",
    "pct_in_cadence",
)


@dataclass(frozen=True)
class SourceResult:
    """What a run did with one source: a `[[files]]` table or a stream of an account."""

    source: str
    kind: str  # files, gmail, outlook
    ok: bool
    unchanged: bool = False
    contacts_new: int = 0
    contacts_updated: int = 0
    discovered: int = 0
    exchanges_read: int = 0
    exchanges_new: int = 0
    skipped: int = 0
    quarantined: int = 0
    work: str = ""  # quota units or requests spent, for an account
    seconds: float = 0.0
    error: str = ""
    ended_at: str = ""
    passed_over: int = 0  # files of its folders that are no export

    def line(self) -> str:
        """The one line a run says about it."""
        if not self.ok:
            return f"{self.source}: failed: {self.error}"
        if self.unchanged:
            return f"{self.source}: unchanged"
        parts = [
            f"{self.contacts_new} new contacts",
            f"{self.exchanges_new} new exchanges (of {self.exchanges_read})",
        ]
        if self.discovered:
            parts.append(f"{self.discovered} discovered")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        if self.quarantined:
            parts.append(f"{self.quarantined} unreadable (quarantined)")
        if self.work:
            parts.append(self.work)
        if self.passed_over:
            parts.append(f"{self.passed_over} other files passed over (not exports)")
        return f"{self.source}: {', '.join(parts)}, {self.seconds:.1f} s"


@dataclass(frozen=True)
class NetworkFigures:
    """A network's counts in one run's report."""

    network: str
    contacts: int
    overdue: int
    due_soon: int
    ok: int
    never: int
    pct_in_cadence: float | None


@dataclass(frozen=True)
class RunRecord:
    """One run as `history` and `status` show it."""

    id: int
    started_at: str
    ended_at: str | None
    exit_code: int | None
    pid: int
    interrupted: bool
    as_of: str | None
    sources: tuple[SourceResult, ...] = ()
    networks: tuple[NetworkFigures, ...] = field(default=())

    @property
    def state(self) -> str:
        """ok, partial (exit 3), failed, interrupted (killed before its end) or running."""
        if self.interrupted:
            return "interrupted"
        if self.ended_at is None:
            return "running"
        return {0: "ok", 3: "partial"}.get(self.exit_code or 0, "failed")

    @property
    def overdue(self) -> int | None:
        """Overdue people over every network of its report (None: it wrote none)."""
        return sum(n.overdue for n in self.networks) if self.networks else None


def now_text() -> str:
    """Now, as the run tables hold instants: ISO 8601 in UTC, to the millisecond (a source
    that failed and then worked within a second is told apart by comparing the texts)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def start(store: Store) -> int:
    """Record a run starting in this process; runs that never ended (killed) are marked
    interrupted. The caller holds the run lock, so no other run is going."""
    with store.transaction():
        store.db.execute("UPDATE runs SET interrupted = 1 WHERE ended_at IS NULL")
        cursor = store.db.execute(
            "INSERT INTO runs (started_at, pid) VALUES (?, ?)", (now_text(), os.getpid())
        )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def record_source(store: Store, run: int, result: SourceResult) -> None:
    """Keep what the run did with a source (its own transaction)."""
    with store.transaction():
        store.db.execute(
            "INSERT OR REPLACE INTO run_sources (run_id, source, kind, ended_at, ok, unchanged, "
            "contacts_new, contacts_updated, discovered, exchanges_read, exchanges_new, skipped, "
            "quarantined, work, seconds, error) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run,
                result.source,
                result.kind,
                result.ended_at or now_text(),
                int(result.ok),
                int(result.unchanged),
                result.contacts_new,
                result.contacts_updated,
                result.discovered,
                result.exchanges_read,
                result.exchanges_new,
                result.skipped,
                result.quarantined,
                result.work,
                round(result.seconds, 3),
                result.error,
            ),
        )


def record_networks(store: Store, run: int, as_of: date, figures: Sequence[NetworkFigures]) -> None:
    """Keep the figures of the run's report (replacing any it kept before)."""
    with store.transaction():
        store.db.execute("DELETE FROM run_networks WHERE run_id = ?", (run,))
        store.db.executemany(
            "INSERT INTO run_networks (run_id, position, network, contacts, overdue, due_soon, "
            "ok, never, pct_in_cadence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(run, i, *astuple(f)) for i, f in enumerate(figures)],
        )
        store.db.execute("UPDATE runs SET as_of = ? WHERE id = ?", (as_of.isoformat(), run))


def finish(store: Store, run: int, exit_code: int) -> None:
    """Record how the run ended."""
    with store.transaction():
        store.db.execute(
            "UPDATE runs SET ended_at = ?, exit_code = ? WHERE id = ?",
            (now_text(), exit_code, run),
        )


_RUN_COLUMNS = "id, started_at, ended_at, exit_code, pid, interrupted, as_of"


def runs(store: Store, limit: int | None = None, running: int | None = None) -> list[RunRecord]:
    """The latest runs first, each with its sources and figures. A run without an end whose
    process is not `running` (the pid holding the run lock, None: no one) was killed: it is
    shown interrupted before the next run records it so."""
    found = _records(
        store,
        store.db.execute(
            f"SELECT {_RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT ?",
            (-1 if limit is None else limit,),
        ).fetchall(),
    )
    return [
        replace(r, interrupted=True) if r.ended_at is None and r.pid != running else r
        for r in found
    ]


def _records(store: Store, rows: list[tuple[object, ...]]) -> list[RunRecord]:
    ids = [int(str(r[0])) for r in rows]
    sources = _sources_of(store, ids)
    networks = _networks_of(store, ids)
    return [
        RunRecord(
            id=int(str(r[0])),
            started_at=str(r[1]),
            ended_at=None if r[2] is None else str(r[2]),
            exit_code=None if r[3] is None else int(str(r[3])),
            pid=int(str(r[4])),
            interrupted=bool(r[5]),
            as_of=None if r[6] is None else str(r[6]),
            sources=tuple(sources.get(int(str(r[0])), ())),
            networks=tuple(networks.get(int(str(r[0])), ())),
        )
        for r in rows
    ]


def _placeholders(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


def _sources_of(store: Store, ids: Sequence[int]) -> dict[int, list[SourceResult]]:
    found: dict[int, list[SourceResult]] = {}
    if not ids:
        return found
    for row in store.db.execute(
        "SELECT run_id, source, kind, ok, unchanged, contacts_new, contacts_updated, discovered, "
        "exchanges_read, exchanges_new, skipped, quarantined, work, seconds, error, ended_at "
        f"FROM run_sources WHERE run_id IN ({_placeholders(ids)}) ORDER BY run_id, ended_at",
        list(ids),
    ):
        found.setdefault(int(row[0]), []).append(_source(row[1:]))
    return found


def _source(row: Sequence[object]) -> SourceResult:
    (source, kind, ok, unchanged, new, updated, discovered, read, exchanges, skipped,
     quarantined, work, seconds, error, ended) = row  # fmt: skip
    return SourceResult(
        source=str(source),
        kind=str(kind),
        ok=bool(ok),
        unchanged=bool(unchanged),
        contacts_new=int(str(new)),
        contacts_updated=int(str(updated)),
        discovered=int(str(discovered)),
        exchanges_read=int(str(read)),
        exchanges_new=int(str(exchanges)),
        skipped=int(str(skipped)),
        quarantined=int(str(quarantined)),
        work=str(work),
        seconds=float(str(seconds)),
        error=str(error),
        ended_at=str(ended),
    )


def _networks_of(store: Store, ids: Sequence[int]) -> dict[int, list[NetworkFigures]]:
    found: dict[int, list[NetworkFigures]] = {}
    if not ids:
        return found
    for row in store.db.execute(
        "SELECT run_id, network, contacts, overdue, due_soon, ok, never, pct_in_cadence "
        f"FROM run_networks WHERE run_id IN ({_placeholders(ids)}) ORDER BY run_id, position",
        list(ids),
    ):
        found.setdefault(int(row[0]), []).append(
            NetworkFigures(
                str(row[1]),
                int(row[2]),
                int(row[3]),
                int(row[4]),
                int(row[5]),
                int(row[6]),
                None if row[7] is None else float(row[7]),
            )
        )
    return found


def last_of_source(store: Store, source: str, ok: bool) -> SourceResult | None:
    """The latest time a run read `source` (ok) or failed on it."""
    row = store.db.execute(
        "SELECT source, kind, ok, unchanged, contacts_new, contacts_updated, discovered, "
        "exchanges_read, exchanges_new, skipped, quarantined, work, seconds, error, ended_at "
        "FROM run_sources WHERE source = ? AND ok = ? ORDER BY ended_at DESC LIMIT 1",
        (source, int(ok)),
    ).fetchone()
    return None if row is None else _source(row)


def trend(store: Store) -> list[tuple[object, ...]]:
    """The rows of trend.csv: every run's figures, oldest first (TREND_COLUMNS)."""
    return [
        tuple(row)
        for row in store.db.execute(
            "SELECT r.started_at, n.network, n.contacts, n.overdue, n.due_soon, n.ok, n.never, "
            "n.pct_in_cadence FROM run_networks n JOIN runs r ON r.id = n.run_id "
            "ORDER BY r.id, n.position"
        )
    ]


def previous_figures(store: Store, before: int | None = None) -> RunRecord | None:
    """The latest run with a report (before run `before`, when given)."""
    row = store.db.execute(
        "SELECT max(run_id) FROM run_networks WHERE run_id < ?",
        (before if before is not None else 1 << 62,),
    ).fetchone()
    if row is None or row[0] is None:
        return None
    found = _records(
        store, store.db.execute(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", row).fetchall()
    )
    return found[0] if found else None


def figures_of(rows: Iterable[Sequence[object]]) -> list[NetworkFigures]:
    """NetworkFigures from the rows of networks.csv (report.NETWORK_COLUMNS)."""
    from pipeline.report import NETWORK_COLUMNS

    index = {name: NETWORK_COLUMNS.index(name) for name in NETWORK_COLUMNS}
    found = []
    for row in rows:
        pct = row[index["pct_in_cadence"]]
        found.append(
            NetworkFigures(
                network=str(row[index["network"]]),
                contacts=int(str(row[index["contacts"]])),
                overdue=int(str(row[index["overdue"]])),
                due_soon=int(str(row[index["due_soon"]])),
                ok=int(str(row[index["ok"]])),
                never=int(str(row[index["never"]])),
                pct_in_cadence=None if pct is None else float(str(pct)),
            )
        )
    return found
