"""The unattended side: `run`, what a scheduler calls; `status`, the health of the store, its
sources and runs; `history`, the runs one by one."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.group import EXIT_PARTIAL, EXIT_USER, App, app_of, echo, fail, main
from pipeline.cli.options import format_option, out_option
from pipeline.cli.output import plural, progress
from pipeline.config import ensure_home
from pipeline.errors import NetgardenError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pipeline.config import Config
    from pipeline.notify import Overdue
    from pipeline.runlog import RunRecord, SourceResult
    from pipeline.status import SourceStatus, Status
    from pipeline.store import Store


#: How long a run waits for a command started by hand that is writing to the store (a first
#: import of a large archive): an unattended run waits its turn rather than fail the night.
RUN_PATIENCE = 3600.0


@main.command("run")
@out_option
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Seconds to wait for a run already going to end (default: refuse at once).",
)
@click.pass_context
def run_(ctx: click.Context, out: Path | None, wait: float) -> None:
    """Import the [[files]] that changed, sync every account, classify and write the report:
    the command a scheduler calls.

    One run at a time (a second one exits 1 naming the first). Every run is recorded (see
    `status` and `history`). Exit 0 when every source was read; 3 when some source failed but
    the report was written; 1 when nothing could be done.
    """
    from pipeline.runlock import RunLock

    app = app_of(ctx)
    config = app.config  # a broken config.toml: one line, exit 1
    if not (config.files or config.gmail or config.outlook or config.store_path.exists()):
        fail(
            f"nothing to run: no store in {app.home} and no source in config.toml; add a "
            "[[files]] table (path = an export, a folder or a glob) or sign in with "
            "`netgarden auth gmail` or `auth outlook`"
        )
    ensure_home(app.home)
    lock = RunLock(app.home)
    lock.acquire(wait)
    with lock:
        code = _run(app, out)
    if code:
        sys.exit(code)


def _run(app: App, out: Path | None) -> int:
    """The run itself, holding the lock: its exit code."""
    from pipeline import notify, runlog
    from pipeline.store import Store

    config = app.config
    said: list[str] = []

    def tell(line: str) -> None:
        said.append(line)
        app.say(line)

    def warn(line: str) -> None:
        said.append(f"warning: {line}")
        app.warn(line)

    if problem := notify.ping(config.notify, "start"):
        warn(problem)
    results: list[SourceResult] = []
    report: _Written | None = None
    try:
        with Store(config.store_path, patience=RUN_PATIENCE) as store:
            run = runlog.start(store)
            results = _read_sources(app, store, run, tell, warn)
            try:
                report = _write_report(app, store, run, out)
                tell(report.line)
            except NetgardenError as exc:
                said.append(f"error: {exc}")
                app.error(str(exc))
            failed = [r for r in results if not r.ok]
            code = EXIT_USER if report is None else (EXIT_PARTIAL if failed else 0)
            runlog.finish(store, run, code)
    except NetgardenError as exc:  # no store to write to: nothing could be done
        said.append(f"error: {exc}")
        _tell_watchers(app, config, said, results, None, failed=True)
        raise
    _tell_watchers(app, config, said, results, report, failed=code != 0)
    return code


def _read_sources(
    app: App,
    store: Store,
    run: int,
    say: Callable[[str], None],
    caution: Callable[[str], None],
) -> list[SourceResult]:
    """Every source, one line each: the [[files]], then (people regrouped) the accounts."""
    from pipeline import runlog
    from pipeline.runner import resolve
    from pipeline.scheduled import import_files, sync_accounts

    config = app.config
    results: list[SourceResult] = []
    for source in config.files:
        result = import_files(store, source, config, watch=lambda c: progress(app, c))
        runlog.record_source(store, run, result)
        results.append(result)
        (say if result.ok else caution)(result.line())
    if config.files:
        # Always, even when every file was unchanged: a run killed after an import and
        # before this left the regrouping to the next one.
        resolve(store)
    for result in sync_accounts(store, config, watch=lambda c: progress(app, c)):
        runlog.record_source(store, run, result)
        results.append(result)
        (say if result.ok else caution)(result.line())
    return results


@dataclass(frozen=True)
class _Written:
    """What the run's report was: its line, how many are overdue, each network's most overdue
    (name, contacts, overdue, people)."""

    line: str
    overdue: int
    networks: list[tuple[str, int, int, list[Overdue]]]


def _write_report(app: App, store: Store, run: int, out: Path | None) -> _Written:
    """Classify everyone, write the CSV report (and trend.csv) and keep its figures."""
    from pipeline import export, runlog
    from pipeline.notify import Overdue
    from pipeline.parts import report_rows
    from pipeline.report import STALENESS_COLUMNS, network_rows

    config = app.config
    day = datetime.now(config.tz()).date()
    found = report_rows(config, day, lines=True)
    summary = network_rows(found.rows, found.ruleset)
    figures = runlog.figures_of(summary)
    before = runlog.previous_figures(store, run)
    runlog.record_networks(store, run, day, figures)
    folder = out or app.home / "reports"
    written = export.write_report_csv(folder, found.lines, summary, runlog.trend(store))
    overdue = sum(f.overdue for f in figures)
    column = {name: STALENESS_COLUMNS.index(name) for name in STALENESS_COLUMNS}
    top = config.notify.digest_top
    people: dict[str, list[Overdue]] = {f.network: [] for f in figures}
    for row in found.rows:  # most urgent first
        listed = people.get(str(row[column["network"]]))
        if listed is not None and len(listed) < top and row[column["status"]] == "overdue":
            listed.append(
                Overdue(
                    str(row[column["name"]]),
                    str(row[column["email"]] or ""),
                    row[column["days_since"]],
                    row[column["days_overdue"]],
                )
            )
    line = (
        f"report as of {day}: {plural(len(found.rows), 'contact')}, {overdue} overdue"
        f"{_moved(overdue, before)}; wrote {', '.join(str(p) for p in written)}"
    )
    networks = [(f.network, f.contacts, f.overdue, people[f.network]) for f in figures]
    return _Written(line, overdue, networks)


def _moved(overdue: int, before: RunRecord | None) -> str:
    """How the overdue count moved since the run before (empty when there was none)."""
    if before is None or before.overdue is None:
        return ""
    change = overdue - before.overdue
    if change == 0:
        return " (as many as the run before)"
    return f" ({abs(change)} {'more' if change > 0 else 'fewer'} than the run before)"


def _tell_watchers(
    app: App,
    config: Config,
    said: list[str],
    results: list[SourceResult],
    report: _Written | None,
    *,
    failed: bool,
) -> None:
    """The ping that ends the run, and the e-mail digest: what they could not do is a
    warning, never a failed run."""
    from pipeline import notify

    body = "\n".join(said[-50:])
    if problem := notify.ping(config.notify, "fail" if failed else "success", body):
        app.warn(problem)
    overdue = report.overdue if report is not None else 0
    if not notify.wants_digest(config.notify, failed, overdue):
        return
    failures = [f"{r.source}: {r.error}" for r in results if not r.ok]
    if report is None:
        failures.append("the report could not be written (see the run's lines below)")
    outcome = "some sources failed" if failures else f"{overdue} overdue"
    digest = notify.digest_of(
        f"netgarden: {outcome}" if report is not None else "netgarden: the run failed",
        failures,
        report.networks if report is not None else [],
        said,
    )
    if problem := notify.send_digest(config.notify, app.home, digest):
        app.warn(problem)


@main.command()
@format_option(("text", "json"), "text", "text for a person, json for a script.")
@click.option("--runs", "last", type=click.IntRange(min=0), default=5, show_default=True,
              help="How many of the latest runs to show.")  # fmt: skip
@click.pass_context
def status(ctx: click.Context, fmt: str, last: int) -> None:
    """The store (people, unassigned, suggestions, unreadable records), each source (files
    and accounts: last success, last failure and why, cursor age) and the latest runs."""
    from pipeline.status import status as status_of

    app = app_of(ctx)
    found = status_of(app.config, last_runs=last)
    if fmt == "json":
        echo(json.dumps(found.as_json(), indent=2, ensure_ascii=False))
        return
    _print_status(app, found)


def _print_status(app: App, found: Status) -> None:
    store = found.store
    if store.exists:
        echo(
            f"store: {plural(store.people, 'person')} ({plural(store.contact_records, 'record')}), "
            f"{plural(store.exchanges, 'exchange')}; {store.unassigned} unassigned, "
            f"{plural(store.pending_suggestions, 'suggestion')} to review (`netgarden "
            f"suggestions`), {plural(store.quarantined, 'unreadable record')}"
            + (" (`netgarden errors`)" if store.quarantined else "")
        )
    else:
        echo(f"store: none yet in {found.home} (`netgarden import` or `netgarden run` makes it)")
    _say_me(app)
    if not found.sources:
        echo(
            "no sources configured: `run` reads [[files]] tables of config.toml and the "
            "accounts `netgarden auth gmail` or `auth outlook` adds"
        )
    for source in found.sources:
        echo(_source_line(source))
        if source.failing:
            echo(f"  last failure {_when(source.last_failure)}: {source.last_error}")
    if found.running_pid is not None:
        echo(f"a run is going now (pid {found.running_pid})")
    if found.runs:
        echo("latest runs:")
        for record in found.runs:
            echo("  " + _run_line(record))


def _source_line(source: SourceStatus) -> str:
    if source.kind == "files":
        if source.last_success is None:
            return f"{source.source}: never read" + (
                f" (failed {_when(source.last_failure)})" if source.last_failure else ""
            )
        return f"{source.source}: last read {_when(source.last_success)}"
    signed = "signed in" if source.signed_in else "not signed in"
    if source.cursor_updated is None:
        return f"{source.source}: {signed}; never synced"
    hours = source.cursor_age_hours or 0.0
    old = f"{hours:.1f} hours" if hours < 48 else f"{int(hours // 24)} days"
    return f"{source.source}: {signed}; last sync {_when(source.last_success)}, cursor {old} old"


def _when(text: str | None) -> str:
    """An instant of the run tables as `2026-12-05 03:00 UTC`."""
    if not text:
        return "never"
    return f"{text[:10]} {text[11:16]} UTC"


def _run_line(record: RunRecord) -> str:
    seconds = ""
    if record.ended_at:
        took = datetime.fromisoformat(record.ended_at) - datetime.fromisoformat(record.started_at)
        seconds = f", {took.total_seconds():.0f} s"
    failed = [s.source for s in record.sources if not s.ok]
    parts = [plural(len(record.sources), "source")]
    if failed:
        parts.append(f"failed: {', '.join(failed)}")
    new = sum(s.exchanges_new for s in record.sources)
    contacts = sum(s.contacts_new + s.discovered for s in record.sources)
    parts.append(f"{new} new exchanges, {contacts} new contacts")
    if record.overdue is not None:
        parts.append(f"{record.overdue} overdue")
    code = "" if record.exit_code is None else f" (exit {record.exit_code})"
    return f"#{record.id} {_when(record.started_at)} {record.state}{code}{seconds}: " + "; ".join(
        parts
    )


@main.command()
@format_option(("text", "json"), "text", "text for a person, json for a script.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True,
              help="How many of the latest runs.")  # fmt: skip
@click.pass_context
def history(ctx: click.Context, fmt: str, limit: int) -> None:
    """The latest runs: when, how they ended, and what each did with every source."""
    from pipeline.runlock import RunLock
    from pipeline.runlog import runs
    from pipeline.status import run_json
    from pipeline.store import READER_PATIENCE, Store

    app = app_of(ctx)
    path = app.config.store_path
    if not path.exists():
        fail(f"no store in {app.home} yet: nothing has run")
    holder = RunLock(app.home).holder()
    with Store(path, patience=READER_PATIENCE) as store:
        found = runs(store, limit, holder.pid if holder is not None else None)
    if fmt == "json":
        echo(json.dumps([run_json(r) for r in found], indent=2, ensure_ascii=False))
        return
    if not found:
        app.say("no runs yet (`netgarden run` is the command a scheduler calls)")
        return
    for record in found:
        echo(_run_line(record))
        for source in record.sources:
            echo(f"  {source.line()}")


def _say_me(app: App) -> None:
    """Which addresses netgarden takes for the user's own, and where that comes from."""
    from pipeline.store import READER_PATIENCE, Store

    config = app.config
    if config.me:
        echo(f"your addresses (config.toml): {', '.join(config.me)}")
        return
    if not config.store_path.exists():
        return
    with Store(config.store_path, patience=READER_PATIENCE) as store:
        inferred = store.inferred_me()
    if inferred:
        echo(
            "your addresses, as imports inferred them: "
            + ", ".join(f"{address} ({source})" for address, source in inferred)
            + "; set `me` in config.toml to confirm or correct them"
        )
