"""Getting data in: `import` files and folders, `log` an exchange by hand, and `errors`, what
imports could not read."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.group import EXIT_PARTIAL, App, app_of, echo, fail, main
from pipeline.cli.output import plural, progress
from pipeline.config import ensure_home
from pipeline.errors import NetgardenError
from pipeline.model import DIRECTIONS, as_direction

if TYPE_CHECKING:
    from connectors.base import FileConnector
    from pipeline.runner import ImportSummary

_FORMATS = (
    "vcard",
    "google_csv",
    "outlook_csv",
    "linkedin",
    "thunderbird",
    "interactions",
    "mbox",
    "eml",
    "maildir",
    "ics",
)


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False))
@click.option(
    "--format",
    "format_name",
    type=click.Choice(list(_FORMATS)),
    help="Read every file as this format instead of detecting it from the content.",
)
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--strict", is_flag=True, help="Exit 3 when any record had to be quarantined.")
@click.option(
    "--force",
    is_flag=True,
    help="Read files again even when unchanged since their last import (after a change of "
    "settings such as `me`).",
)
@click.pass_context
def import_(
    ctx: click.Context,
    paths: tuple[Path, ...],
    format_name: str | None,
    dry_run: bool,
    strict: bool,
    force: bool,
) -> None:
    """Import address books, mail archives and calendars (files or folders).

    Formats are detected from the content: vCard 2.1/3.0/4.0, Google Contacts CSV, Outlook CSV,
    LinkedIn Connections.csv, Thunderbird CSV, the interactions CSV
    (date,email,direction,channel), mbox archives (Google Takeout, Thunderbird, Apple Mail),
    Maildir folders, .eml files and iCalendar .ics files. Importing the same file again changes
    nothing.
    """
    from connectors import plan

    app = app_of(ctx)
    with _stdin_as_file(app, paths) as named:
        chosen, warnings = plan(named, format_name)
        for warning in warnings:
            app.warn(warning)
        if not chosen:
            fail("nothing to import in " + ", ".join(str(p) for p in paths))
        failed = _import(app, chosen, named, dry_run=dry_run, force=force, strict=strict)
    if failed:
        sys.exit(EXIT_PARTIAL)


@contextmanager
def _stdin_as_file(app: App, paths: tuple[Path, ...]) -> Iterator[list[Path]]:
    """The paths to import, with `-` (standard input) saved to a file in the home first: a
    format is told from a file's content, and an mbox is read twice when `me` is inferred.
    The file's name stays the same, so the same input twice is unchanged the second time."""
    if Path("-") not in paths:
        yield list(paths)
        return
    if sys.stdin.isatty():
        raise click.UsageError("- reads standard input: pipe an export in (… | netgarden import -)")
    saved = app.home / "stdin"
    ensure_home(app.home)
    with saved.open("wb") as out:
        os.fchmod(out.fileno(), 0o600)
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    try:
        yield [saved if p == Path("-") else p for p in paths]
    finally:
        saved.unlink(missing_ok=True)


def _import(
    app: App,
    chosen: list[tuple[Path, type[FileConnector]]],
    named: list[Path],
    *,
    dry_run: bool,
    force: bool,
    strict: bool,
) -> bool:
    """Import each file in its own transaction. A file found in a folder that cannot be read
    is one warning, and the others are still imported; one the user `named` stops the import.
    Returns whether any file failed, or quarantined records under `strict`."""
    from connectors.base import ReadOptions
    from pipeline.runner import import_file, resolve
    from pipeline.store import Store

    config = app.config
    options = ReadOptions.of(config)
    quarantined = 0
    failed = 0
    with Store(config.store_path) as store:
        for path, cls in chosen:
            connector = cls(path, options)
            try:
                with progress(app, connector):
                    summary = import_file(store, connector, dry_run=dry_run, force=force)
            except NetgardenError as exc:
                if path in named:
                    raise  # a file the user named: one line, exit 1
                app.warn(f"not imported: {exc}")  # found in a folder: the others go on
                failed += 1
                continue
            for note in summary.notes:
                app.say(f"{path}: {note}")
            quarantined += summary.quarantined
            if summary.unchanged:
                app.say(f"{path} ({cls.name}): unchanged since its last import")
                continue
            app.say(f"{path} ({cls.name}): " + "; ".join(_summary_parts(summary, cls.orphans)))
        if not dry_run:
            resolve(store)
            app.say(
                f"store: {store.contact_count()} contact records, "
                f"{store.interaction_count()} exchanges"
            )
    if dry_run:
        app.say("dry run: nothing was written")
    if quarantined:
        app.warn(
            f"{plural(quarantined, 'record')} could not be read; "
            "`netgarden errors` lists them with file and line"
        )
    if failed:
        app.warn(f"{plural(failed, 'file')} could not be imported (see above)")
    return bool(failed) or (strict and bool(quarantined))


def _summary_parts(summary: ImportSummary, orphans: str) -> list[str]:
    """The pieces of a file's summary line: contacts, exchanges, people made, skips, problems."""
    c = summary.contacts
    parts = []
    if c.new + c.updated + c.unchanged or orphans != "discover":
        parts.append(f"contacts {c.new} new, {c.updated} updated, {c.unchanged} unchanged")
    if summary.interactions_read or orphans == "discover":
        parts.append(f"exchanges {summary.interactions_new} new of {summary.interactions_read}")
    if summary.contacts_created:
        made = "discovered" if orphans == "discover" else "new from exchanges"
        who = "person" if summary.contacts_created == 1 else "people"
        parts.append(f"{summary.contacts_created} {who} {made}")
    if summary.skipped:
        reasons = ", ".join(f"{n} {r}" for r, n in summary.skipped.most_common())
        parts.append(f"skipped {reasons}")
    if summary.quarantined:
        parts.append(f"{summary.quarantined} unreadable (quarantined)")
    return parts


@main.command()
@click.argument("who", required=False)
@click.option("--date", "when", help="When (YYYY-MM-DD or an ISO date-time; default: today).")
@click.option(
    "--channel", default="manual", show_default=True, help="How: call, coffee, meeting, email, ..."
)
@click.option(
    "--direction",
    type=click.Choice(list(DIRECTIONS)),
    default="mutual",
    show_default=True,
    help="Who reached out.",
)
@click.option("--new", is_flag=True, help="WHO is an address no one has yet: add them.")
@click.option("--planned", is_flag=True, help="The date is ahead: the exchange is planned.")
@click.option("--undo", is_flag=True, help="Take back the last exchange logged (and nothing else).")
@click.pass_context
def log(
    ctx: click.Context,
    who: str | None,
    when: str | None,
    channel: str,
    direction: str,
    new: bool,
    planned: bool,
    undo: bool,
) -> None:
    """Record one exchange by hand. WHO is a contact id (as `contacts` shows it), an e-mail
    address, or the exact name of one person."""
    from connectors.csvfiles import parse_instant
    from pipeline.logbook import log_exchange, undo_last
    from pipeline.model import plausible
    from pipeline.store import Store

    app = app_of(ctx)
    config = app.config
    tz = config.tz()
    if undo:
        if who is not None:
            raise click.UsageError("--undo takes back the last exchange logged; give no WHO")
        with Store(config.store_path) as store:
            taken = undo_last(store)
        if not taken:
            fail("nothing was logged by hand, so nothing is taken back")
        for item in taken:
            day = item.at.astimezone(tz).date()
            app.say(f"took back the {item.channel} with {item.counterpart.value} on {day}")
        return
    if who is None:
        raise click.UsageError("say whom: a contact id, an e-mail address or a name")
    at = parse_instant(when or datetime.now(tz).date().isoformat(), tz)
    if at is None:
        fail(f"--date {when!r} is not a date (use YYYY-MM-DD)")
    now = datetime.now(tz)
    if at.astimezone(tz).date() > now.date() and not planned:
        fail(f"--date {when} is ahead of today; add --planned if the exchange is planned")
    if not plausible(at, now):
        fail(f"--date {when} cannot be an exchange (before 1970, or more than a year ahead)")
    with Store(config.store_path) as store:
        logged = log_exchange(store, who, at, as_direction(direction), channel.lower(), tz, new=new)
    if logged.created:
        app.say(f"new contact {who} (id {logged.person_id})")
    app.say(
        f"logged a {direction} {channel} with {logged.name or who} on {at.astimezone(tz).date()}"
    )
    if logged.repeats:
        app.warn(
            f"{plural(logged.repeats, 'identical exchange')} with {logged.name or who} "
            "was already stored for that day; `netgarden log --undo` takes this one back"
        )


@main.command()
@click.pass_context
def errors(ctx: click.Context) -> None:
    """List the records imports could not read, with file, line and raw text."""
    from pipeline.store import Store

    app = app_of(ctx)
    with Store(app.config.store_path) as store:
        problems = store.quarantined()
    if not problems:
        app.say("no unreadable records")
        return
    for p in problems:
        echo(f"{p.file}:{p.line}: {p.reason}")
        raw = p.raw if len(p.raw) <= 300 else p.raw[:300] + "…"
        for line in raw.splitlines() or [""]:
            echo(f"    {line}")
    app.say(f"{plural(len(problems), 'unreadable record')}")
