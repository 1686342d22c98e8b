"""What `netgarden status` tells: the store, every source (files and accounts) and the last
runs, as one plain structure that the terminal lines and `--format json` are both made from."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.accounts import streams
from pipeline.config import Config
from pipeline.runlock import RunLock
from pipeline.runlog import RunRecord, SourceResult, last_of_source, runs
from pipeline.store import READER_PATIENCE, Store
from rules.schema import UNASSIGNED


@dataclass(frozen=True)
class StoreFigures:
    """What the store holds."""

    path: str
    exists: bool
    people: int = 0
    contact_records: int = 0
    exchanges: int = 0
    unassigned: int = 0
    networks: dict[str, int] | None = None
    pending_suggestions: int = 0
    quarantined: int = 0


@dataclass(frozen=True)
class SourceStatus:
    """A source's health: when it was last read, when it last failed and why."""

    source: str
    kind: str
    configured: str  # the path of a [[files]] table, the stream of an account
    signed_in: bool | None = None  # for an account
    last_success: str | None = None
    last_failure: str | None = None
    last_error: str = ""
    cursor_updated: str | None = None
    cursor_age_hours: float | None = None

    @property
    def failing(self) -> bool:
        """Whether its latest outcome is a failure."""
        return self.last_failure is not None and (
            self.last_success is None or self.last_failure > self.last_success
        )


@dataclass(frozen=True)
class Status:
    """Everything `status` reports."""

    home: str
    store: StoreFigures
    sources: tuple[SourceStatus, ...]
    runs: tuple[RunRecord, ...]
    running_pid: int | None

    def as_json(self) -> dict[str, Any]:
        """The structure `status --format json` prints."""
        return {
            "home": self.home,
            "store": asdict(self.store),
            "sources": [{**asdict(s), "failing": s.failing} for s in self.sources],
            "runs": [run_json(r) for r in self.runs],
            "running_pid": self.running_pid,
        }


def run_json(run: RunRecord) -> dict[str, Any]:
    """A run as `status` and `history --format json` print it."""
    return {
        "id": run.id,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "exit_code": run.exit_code,
        "state": run.state,
        "pid": run.pid,
        "as_of": run.as_of,
        "overdue": run.overdue,
        "sources": [asdict(s) for s in run.sources],
        "networks": [asdict(n) for n in run.networks],
    }


def status(config: Config, *, last_runs: int = 5, suggestions: bool = True) -> Status:
    """The status of a home, read without waiting long for a writer."""
    holder = RunLock(config.home).holder()
    running = holder.pid if holder is not None else None
    path = config.store_path
    if not path.exists():
        sources = tuple(_source(None, config, item) for item in _configured(config))
        return Status(str(config.home), StoreFigures(str(path), False), sources, (), None)
    with Store(path, patience=READER_PATIENCE) as store:
        networks = store.network_counts()
        figures = StoreFigures(
            path=str(path),
            exists=True,
            people=store.people_count(),
            contact_records=store.contact_count(),
            exchanges=store.interaction_count(),
            unassigned=networks.get(UNASSIGNED, 0),
            networks=networks,
            pending_suggestions=len(store.suggestions()) if suggestions else 0,
            quarantined=store.quarantine_count(),
        )
        sources = tuple(_source(store, config, item) for item in _configured(config))
        found = tuple(runs(store, last_runs, running))
    return Status(str(config.home), figures, sources, found, running)


def _configured(config: Config) -> list[tuple[str, str, str, str | None]]:
    """(label, kind, what is configured, token file) of every source, in config.toml's order."""
    found: list[tuple[str, str, str, str | None]] = [
        (f.label, "files", f.path, None) for f in config.files
    ]
    found += [(s.label, s.label.split()[0], s.stream, str(s.token)) for s in streams(config)]
    return found


def _source(
    store: Store | None, config: Config, item: tuple[str, str, str, str | None]
) -> SourceStatus:
    label, kind, configured, token = item
    signed_in = None
    if token is not None:
        signed_in = Path(token).exists()
    if store is None:
        return SourceStatus(label, kind, configured, signed_in)
    good: SourceResult | None = last_of_source(store, label, True)
    bad: SourceResult | None = last_of_source(store, label, False)
    success = good.ended_at if good else None
    cursor = cursor_age = None
    if kind != "files":
        when = store.checkpoint_time(configured)
        if when is not None:
            cursor = when.astimezone(UTC).isoformat(timespec="seconds")
            cursor_age = round((datetime.now(UTC) - when).total_seconds() / 3600, 1)
            # A sync by hand moves the cursor too: that is a success the runs did not see.
            success = max(success or cursor, cursor)
    return SourceStatus(
        source=label,
        kind=kind,
        configured=configured,
        signed_in=signed_in,
        last_success=success,
        last_failure=bad.ended_at if bad else None,
        last_error=bad.error if bad else "",
        cursor_updated=cursor,
        cursor_age_hours=cursor_age,
    )
