"""The command line: the only module that uses click, prints or exits.

Every NetgardenError becomes one line on stderr and exit 1; usage errors exit 2; an import that
quarantined records under --strict exits 3. No input makes it print a traceback (-v shows one
for an internal error, to report it).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from rich import box
from rich.console import Console
from rich.table import Column, Table

from pipeline import __version__
from pipeline.config import CONFIG_TEMPLATE, Config, load_config, resolve_home
from pipeline.errors import NetgardenError
from pipeline.model import DIRECTIONS, Person, as_direction

EXIT_USER = 1
EXIT_PARTIAL = 3


@dataclass
class App:
    """What every command shares: the home, its settings, and how much to say."""

    home: Path
    verbose: int
    quiet: bool
    _config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.home)
        return self._config

    def say(self, message: str) -> None:
        """A progress or summary line (stderr, so stdout stays data); silent under -q."""
        if not self.quiet:
            click.echo(message, err=True)

    def warn(self, message: str) -> None:
        click.echo(f"warning: {message}", err=True)


def _console() -> Console:
    """A console for tables: the terminal's width, else $COLUMNS, else 120 (a pipe or a cron
    log has no width to respect, and 80 columns would fold every name)."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return Console()
    return Console(width=120)


def _fail(message: str, code: int = EXIT_USER) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


class _Group(click.Group):
    """Turns typed errors into one clear line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NetgardenError as exc:
            _fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted; nothing half-written was kept", 130)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if ctx.params.get("verbose"):
                traceback.print_exc()
            _fail(f"internal error: {type(exc).__name__}: {exc} (run with -v for details)")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where netgarden keeps its store and settings "
    "(default: $NETGARDEN_HOME, else your user data folder).",
)
@click.option("-v", "--verbose", count=True, help="Say more (tracebacks for internal errors).")
@click.option("-q", "--quiet", is_flag=True, help="Say only errors.")
@click.version_option(__version__, prog_name="netgarden")
@click.pass_context
def main(ctx: click.Context, home: Path | None, verbose: int, quiet: bool) -> None:
    """Keep your professional network from going cold.

    Import your address book and the history of who you talked to, sort everyone into target
    networks by rules, and report who is overdue for contact.
    """
    ctx.obj = App(home=resolve_home(home), verbose=verbose, quiet=quiet)


def _app(ctx: click.Context) -> App:
    app = ctx.find_object(App)
    assert app is not None
    return app


# -- init --------------------------------------------------------------------------------------


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Write config.toml and networks.toml into the home (existing files are kept)."""
    from rules.schema import default_text

    app = _app(ctx)
    app.home.mkdir(parents=True, exist_ok=True)
    app.home.chmod(0o700)
    for name, text in (("config.toml", CONFIG_TEMPLATE), ("networks.toml", default_text())):
        path = app.home / name
        if path.exists():
            app.say(f"kept {path} (already there)")
        else:
            path.write_text(text, encoding="utf-8")
            app.say(f"wrote {path}")
    app.say("next: edit networks.toml, then `netgarden import` your address book")


# -- import ------------------------------------------------------------------------------------


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@main.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, exists=False))
@click.option(
    "--format",
    "format_name",
    type=click.Choice(
        [
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
        ]
    ),
    help="Read every file as this format instead of detecting it from the content.",
)
@click.option("--dry-run", is_flag=True, help="Report what would change; write nothing.")
@click.option("--strict", is_flag=True, help="Exit 3 when any record had to be quarantined.")
@click.pass_context
def import_(
    ctx: click.Context,
    paths: tuple[Path, ...],
    format_name: str | None,
    dry_run: bool,
    strict: bool,
) -> None:
    """Import address books, mail archives and calendars (files or folders).

    Formats are detected from the content: vCard 2.1/3.0/4.0, Google Contacts CSV, Outlook CSV,
    LinkedIn Connections.csv, Thunderbird CSV, the interactions CSV
    (date,email,direction,channel), mbox archives (Google Takeout, Thunderbird, Apple Mail),
    Maildir folders, .eml files and iCalendar .ics files. Importing the same file again changes
    nothing.
    """
    from connectors import detect, expand, forced
    from connectors.base import FileConnector, ReadOptions
    from pipeline.errors import FormatError
    from pipeline.runner import import_file, resolve
    from pipeline.store import Store

    app = _app(ctx)
    config = app.config
    named, found = expand(list(paths))
    plan: list[tuple[Path, type[FileConnector]]] = []
    for path in named:
        plan.append((path, forced(path, format_name) if format_name else detect(path)))
    for path in found:
        try:
            plan.append((path, forced(path, format_name) if format_name else detect(path)))
        except FormatError as exc:
            app.warn(f"skipped {exc}")
    if not plan:
        _fail("nothing to import in " + ", ".join(str(p) for p in paths))
    # Address books first: an exchange file then finds the people they list instead of
    # creating a placeholder contact for each of them.
    plan.sort(key=lambda item: item[1].orphans == "contact")
    options = ReadOptions(
        config.default_region, config.windows_codepage, config.timezone, config.mail_policy()
    )
    quarantined = 0
    totals: Counter[str] = Counter()
    with Store(config.store_path) as store:
        for path, cls in plan:
            connector = cls(path, options)
            with _progress(app, connector):
                summary = import_file(store, connector, dry_run=dry_run)
            for note in summary.notes:
                app.say(f"{path}: {note}")
            quarantined += summary.quarantined
            if summary.unchanged:
                app.say(f"{path} ({cls.name}): unchanged since its last import")
                continue
            c = summary.contacts
            parts = []
            if c.new + c.updated + c.unchanged or cls.orphans != "discover":
                parts.append(f"contacts {c.new} new, {c.updated} updated, {c.unchanged} unchanged")
            totals.update(new=c.new, updated=c.updated)
            if summary.interactions_read or cls.orphans == "discover":
                parts.append(
                    f"exchanges {summary.interactions_new} new of {summary.interactions_read}"
                )
                totals.update(exchanges=summary.interactions_new)
            if summary.contacts_created:
                made = "discovered" if cls.orphans == "discover" else "new from exchanges"
                who = "person" if summary.contacts_created == 1 else "people"
                parts.append(f"{summary.contacts_created} {who} {made}")
            if summary.skipped:
                reasons = ", ".join(f"{n} {r}" for r, n in summary.skipped.most_common())
                parts.append(f"skipped {reasons}")
            if summary.quarantined:
                parts.append(f"{summary.quarantined} unreadable (quarantined)")
            app.say(f"{path} ({cls.name}): " + "; ".join(parts))
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
            f"{_plural(quarantined, 'record')} could not be read; "
            "`netgarden errors` lists them with file and line"
        )
        if strict:
            sys.exit(EXIT_PARTIAL)


@contextmanager
def _progress(app: App, connector: Any) -> Iterator[None]:
    """A progress bar (bytes and messages, rate, time left) for a long read on a terminal."""
    if app.quiet or not sys.stderr.isatty() or not _slow(connector):
        yield
        return
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[records]} messages"),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(connector.path.name, total=connector.total_bytes(), records=0)

        def update(done: int, records: int) -> None:
            bar.update(task, completed=done, records=f"{records:,}")

        connector.progress = update
        yield


def _slow(connector: Any) -> bool:
    """Whether a read is long enough to show progress for (a large file, a mail folder)."""
    try:
        return bool(connector.total_bytes() >= 8 << 20)
    except OSError:
        return False


# -- log ---------------------------------------------------------------------------------------


@main.command()
@click.argument("who")
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
@click.pass_context
def log(ctx: click.Context, who: str, when: str | None, channel: str, direction: str) -> None:
    """Record one exchange by hand. WHO is an e-mail address or the exact name of one person."""
    from connectors.csvfiles import parse_instant
    from pipeline.runner import log_exchange
    from pipeline.store import Store

    app = _app(ctx)
    config = app.config
    tz = config.tz()
    at = parse_instant(when or datetime.now(tz).date().isoformat(), tz)
    if at is None:
        _fail(f"--date {when!r} is not a date (use YYYY-MM-DD)")
    with Store(config.store_path) as store:
        person_id, created = log_exchange(
            store, who, at, as_direction(direction), channel.lower(), f"manual:{uuid.uuid4().hex}"
        )
    if created:
        app.say(f"new contact {who} (id {person_id})")
    app.say(f"logged a {direction} {channel} with {who} on {at.astimezone(tz).date()}")


# -- classify, contacts, report ----------------------------------------------------------------


def _parse_day(value: str | None, app: App) -> date:
    if value is None:
        return datetime.now(app.config.tz()).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        _fail(f"--as-of {value!r} is not a date (use YYYY-MM-DD)")


def _classified(app: App, as_of: date) -> tuple[list[Person], dict[int, Any], Any]:
    """Everyone in the store with their assignment as of a date, and the rule set."""
    from pipeline.store import Store
    from rules.engine import classify_all
    from rules.schema import load_overrides, load_rules

    config = app.config
    ruleset = load_rules(config.networks_path)
    overrides = load_overrides(config.overrides_path, ruleset)
    with Store(config.store_path) as store:
        # Discovered people join networks and reports once the relationship is two-way, or
        # once the user puts them in a network by hand (an override).
        people = [
            p for p in store.people() if p.listed or any(email in overrides for email in p.emails)
        ]
    assignments = classify_all(people, ruleset, overrides, as_of, config.tz())
    return people, assignments, ruleset


def _save(app: App, assignments: dict[int, Any]) -> None:
    from pipeline.store import Store

    with Store(app.config.store_path) as store, store.transaction():
        store.save_assignments((pid, a.network, a.rule) for pid, a in assignments.items())


@main.command()
@click.option("--explain", is_flag=True, help="Show, per contact, which rule matched and why.")
@click.option("--as-of", "as_of", help="Date the recency conditions count from (default: today).")
@click.pass_context
def classify(ctx: click.Context, explain: bool, as_of: str | None) -> None:
    """Sort every contact into a network by the rules of networks.toml."""
    app = _app(ctx)
    people, assignments, ruleset = _classified(app, _parse_day(as_of, app))
    _save(app, assignments)
    if explain:
        for person in sorted(people, key=lambda p: p.name.casefold()):
            a = assignments[person.contact_id]
            rule = f" by rule '{a.rule}'" if a.rule else ""
            who = f"{person.name} <{person.email}>" if person.email else person.name
            click.echo(f"{who}: {a.network}{rule}: {'; '.join(a.reasons)}")
    counts = Counter(a.network for a in assignments.values())
    order = [*ruleset.network_names, "unassigned"]
    app.say(
        f"classified {_plural(len(people), 'contact')}: "
        + ", ".join(f"{name} {counts.get(name, 0)}" for name in order)
    )


def _contact_rows(people: Sequence[Person], assignments: dict[int, Any]) -> list[dict[str, Any]]:
    return [
        {
            "contact_id": p.contact_id,
            "name": p.name,
            "emails": list(p.emails),
            "phones": list(p.phones),
            "organization": p.organization,
            "title": p.title,
            "labels": list(p.labels),
            "network": assignments[p.contact_id].network,
            "sources": list(p.sources),
        }
        for p in people
    ]


@main.command()
@click.option("--network", help="Only the people of this network.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
)
@click.option(
    "--discovered",
    is_flag=True,
    help="List the people met only in mail and calendars, most active first, one-way included.",
)
@click.pass_context
def contacts(ctx: click.Context, network: str | None, fmt: str, discovered: bool) -> None:
    """List people as netgarden sees them (to check an import). Multi-values are joined by ';'.

    The list holds the address book and the discovered people with a two-way relationship (the
    people in the report); --discovered lists every discovered person instead.
    """

    app = _app(ctx)
    if discovered:
        if network is not None:
            raise click.UsageError("--discovered lists people in no network; drop --network")
        _print_rows(_discovered_rows(app), _DISCOVERED_COLUMNS, fmt, "discovered contact")
        return
    people, assignments, ruleset = _classified(app, _parse_day(None, app))
    if network is not None and network not in (*ruleset.network_names, "unassigned"):
        _fail(
            f"no network named {network!r}; networks: "
            + ", ".join([*ruleset.network_names, "unassigned"])
        )
    rows = _contact_rows(
        [p for p in people if network is None or assignments[p.contact_id].network == network],
        assignments,
    )
    _print_rows(rows, _CONTACT_COLUMNS, fmt, "contact")


_CONTACT_COLUMNS = (
    "contact_id",
    "name",
    "emails",
    "phones",
    "organization",
    "title",
    "labels",
    "network",
    "sources",
)
_DISCOVERED_COLUMNS = (
    "contact_id",
    "name",
    "email",
    "exchanges",
    "sent",
    "received",
    "meetings",
    "last_contact",
    "relationship",
)


def _print_rows(rows: list[dict[str, Any]], columns: Sequence[str], fmt: str, what: str) -> None:
    """Rows as JSON (lists kept), CSV or a table (lists joined by ';'), on stdout."""
    from pipeline.export import neutralize

    if fmt == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    flat = [
        [";".join(v) if isinstance(v, list) else str(v) for v in (r[c] for c in columns)]
        for r in rows
    ]
    if fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([neutralize(c) for c in row] for row in flat)
        return
    # Folded, never cut with an ellipsis: an address is no use half shown.
    table = Table(*(Column(c, overflow="fold") for c in columns), title=_plural(len(rows), what))
    for row in flat:
        table.add_row(*row)
    _console().print(table)


def _discovered_rows(app: App) -> list[dict[str, Any]]:
    """Everyone met only in mail and calendars with at least one counted exchange: most
    exchanges first, then the most recent."""
    from pipeline.store import Store

    with Store(app.config.store_path) as store:
        people = [p for p in store.people() if p.discovered and p.interactions]
    zone = app.config.tz()
    people.sort(key=lambda p: (-len(p.interactions), -p.interactions[-1].at.timestamp()))
    return [
        {
            "contact_id": p.contact_id,
            "name": p.name,
            "email": p.email,
            "exchanges": len(p.interactions),
            "sent": sum(i.direction == "outbound" for i in p.interactions),
            "received": sum(i.direction == "inbound" for i in p.interactions),
            "meetings": sum(i.direction == "mutual" for i in p.interactions),
            "last_contact": p.interactions[-1].at.astimezone(zone).date().isoformat(),
            "relationship": "two-way" if p.two_way else "one-way",
        }
        for p in people
    ]


@main.command()
@click.option("--as-of", "as_of", help="Report the world as of this date (default: today).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the report files (default: HOME/reports).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "md", "html", "table"]),
    default="csv",
    show_default=True,
    help="csv/md/html write staleness and networks files; table prints a summary.",
)
@click.option("--top", default=5, show_default=True, help="Contacts per network in a table.")
@click.pass_context
def report(ctx: click.Context, as_of: str | None, out: Path | None, fmt: str, top: int) -> None:
    """Report who is overdue for contact: staleness.csv (a row a contact) and networks.csv."""
    from pipeline import export
    from pipeline.report import networks, staleness

    app = _app(ctx)
    day = _parse_day(as_of, app)
    people, assignments, ruleset = _classified(app, day)
    _save(app, assignments)
    frame = staleness(people, assignments, ruleset, day, app.config.tz())
    summary = networks(frame, ruleset)
    if fmt == "table":
        _print_tables(frame, summary, day, top)
        return
    folder = out or app.home / "reports"
    written: list[Path] = []
    for name, data in (("staleness", frame), ("networks", summary)):
        path = folder / f"{name}.{fmt}"
        if fmt == "csv":
            export.frame_to_csv(data, path)
        elif fmt == "md":
            export.write_text(path, export.frame_to_markdown(data))
        else:
            export.write_text(path, export.frame_to_html(data, f"netgarden {name}, {day}"))
        written.append(path)
    overdue = int((frame["status"] == "overdue").sum())
    app.say(
        f"as of {day}: {_plural(len(frame), 'contact')}, {overdue} overdue; wrote "
        + ", ".join(str(p) for p in written)
    )


def _print_tables(frame: Any, summary: Any, day: date, top: int) -> None:
    from pipeline.export import cell

    console = _console()
    table = Table(
        Column("network", no_wrap=True, min_width=19),
        *(
            Column(header, no_wrap=True, min_width=len(header))
            for header in ("cadence", "contacts", "overdue", "due soon", "ok", "never", "% kept")
        ),
        title=f"Networks as of {day}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for row in summary.itertuples(index=False):
        table.add_row(
            row.network,
            cell(row.cadence_days),
            cell(row.contacts),
            cell(row.overdue),
            cell(row.due_soon),
            cell(row.ok),
            cell(row.never),
            cell(row.pct_in_cadence),
        )
    console.print(table)
    for network in summary["network"]:
        members = frame[
            (frame["network"] == network) & frame["status"].isin(["overdue", "due_soon"])
        ].head(top)
        if members.empty:
            continue
        # Fits 80 columns (a log, a pipe): the e-mail is in staleness.csv.
        detail = Table(title=f"{network}: most overdue", box=box.SIMPLE_HEAD, pad_edge=False)
        detail.add_column("name", no_wrap=True, overflow="ellipsis", max_width=20)
        detail.add_column("organization", no_wrap=True, overflow="ellipsis", max_width=16)
        for header in ("last contact", "days since", "overdue", "status"):
            detail.add_column(header, no_wrap=True, min_width=len(header))
        for row in members.itertuples(index=False):
            detail.add_row(
                row.name,
                row.organization,
                cell(row.last_contact),
                cell(row.days_since),
                cell(row.days_overdue),
                row.status,
            )
        console.print(detail)


# -- errors, suggestions, rules ----------------------------------------------------------------


@main.command()
@click.pass_context
def errors(ctx: click.Context) -> None:
    """List the records imports could not read, with file, line and raw text."""
    from pipeline.store import Store

    app = _app(ctx)
    with Store(app.config.store_path) as store:
        problems = store.quarantined()
    if not problems:
        app.say("no unreadable records")
        return
    for p in problems:
        click.echo(f"{p.file}:{p.line}: {p.reason}")
        raw = p.raw if len(p.raw) <= 300 else p.raw[:300] + "…"
        for line in raw.splitlines() or [""]:
            click.echo(f"    {line}")
    app.say(f"{_plural(len(problems), 'unreadable record')}")


@main.command()
@click.option("--accept", is_flag=True, help="Merge every suggested pair (after reviewing them).")
@click.pass_context
def suggestions(ctx: click.Context, accept: bool) -> None:
    """People who may be one person: a shared phone, or the same name at the same organization.

    netgarden merges records only when they share an e-mail address; for everything else it
    asks. Review the list, then `netgarden merge ID ID` the pairs that are one person, or
    `--accept` them all.
    """
    from pipeline.store import Store

    app = _app(ctx)
    with Store(app.config.store_path) as store:
        found = store.suggestions()
        names = {p.contact_id: p for p in store.people()}
        if not found:
            app.say("no suggestions")
            return
        for s in found:
            a, b = names[s.person_a], names[s.person_b]
            click.echo(
                f"{a.contact_id} {a.name} <{a.email}> ~ {b.contact_id} {b.name} <{b.email}>: "
                f"{s.reason}"
            )
        if accept:
            with store.transaction():
                for s in found:
                    store.merge([s.person_a, s.person_b])
            app.say(f"merged {_plural(len(found), 'suggested pair')}")
        else:
            app.say(f"{_plural(len(found), 'suggestion')}; `netgarden merge ID ID` confirms one")


@main.command()
@click.argument("ids", nargs=-1, type=int, required=True)
@click.pass_context
def merge(ctx: click.Context, ids: tuple[int, ...]) -> None:
    """Confirm that these contacts (their contact_id) are one person.

    The link is kept across imports; the person keeps the smallest id.
    """
    from pipeline.store import Store

    app = _app(ctx)
    if len(set(ids)) < 2:
        raise click.UsageError("give at least two different contact ids")
    with Store(app.config.store_path) as store, store.transaction():
        known = store.person_ids()
        missing = [str(i) for i in ids if i not in known]
        if missing:
            _fail(f"no contact with id {', '.join(missing)} (see `netgarden contacts`)")
        store.merge(list(ids))
    app.say(f"merged {', '.join(str(i) for i in ids)} into {min(ids)}")


# -- accounts: auth, sync, status --------------------------------------------------------------


@main.group()
def auth() -> None:
    """Sign in to an account once; tokens are stored with mode 0600."""


@auth.command("gmail")
@click.option(
    "--client-secrets",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The OAuth client file of your Google Cloud project (a Desktop app client).",
)
@click.option("--account", default="default", show_default=True, help="A name for the account.")
@click.option(
    "--scopes",
    default="gmail.metadata,contacts.readonly,contacts.other.readonly,calendar.readonly",
    show_default=True,
    help="Read-only scopes to ask for, comma-separated.",
)
@click.option("--no-browser", is_flag=True, help="Print the address to open; paste the answer.")
@click.option("--revoke", is_flag=True, help="Forget the account's token.")
@click.pass_context
def auth_gmail(
    ctx: click.Context,
    client_secrets: Path | None,
    account: str,
    scopes: str,
    no_browser: bool,
    revoke: bool,
) -> None:
    """Sign in to Google (read-only) and store the token for `netgarden sync gmail`."""
    from connectors.gmail.auth import save_credentials, scope_urls, sign_in
    from pipeline.config import GmailAccount

    app = _app(ctx)
    known = {a.account: a for a in app.config.gmail}
    settings = known.get(account, GmailAccount(account))
    token = settings.token_path(app.home)
    if revoke:
        if token.exists():
            token.unlink()
            app.say(f"forgot the token of {account} ({token})")
        else:
            app.say(f"{account} has no token to forget")
        return
    if client_secrets is None:
        raise click.UsageError("--client-secrets is required to sign in")
    credentials = sign_in(
        client_secrets,
        scope_urls([name.strip() for name in scopes.split(",") if name.strip()]),
        browser=not no_browser,
        ask=lambda question: str(click.prompt(question, err=True)),
        tell=lambda text: click.echo(text, err=True),
    )
    app.home.mkdir(parents=True, exist_ok=True)
    app.home.chmod(0o700)
    save_credentials(credentials, token)
    app.say(f"signed in; token stored in {token} (mode 0600)")
    if account not in known:
        with (app.home / "config.toml").open("a", encoding="utf-8") as handle:
            handle.write(f'\n[[gmail]]\naccount = "{account}"\n')
        app.say(f"added a [[gmail]] table for {account!r} to config.toml")


@auth.command("outlook")
@click.option("--client-id", help="The app (client) id of your Microsoft Entra app registration.")
@click.option("--tenant", help="Directory (tenant) id or domain; default: the config's, or common.")
@click.option("--account", default="default", show_default=True, help="A name for the account.")
@click.option("--browser", is_flag=True, help="Sign in in a local browser instead of a code.")
@click.option(
    "--app-only",
    is_flag=True,
    help="Check the app's own sign-in (client credentials) for the config's mailboxes.",
)
@click.option("--revoke", is_flag=True, help="Forget the account's token cache.")
@click.pass_context
def auth_outlook(
    ctx: click.Context,
    client_id: str | None,
    tenant: str | None,
    account: str,
    browser: bool,
    app_only: bool,
    revoke: bool,
) -> None:
    """Sign in to Microsoft 365 or Outlook.com (read-only) with a device code.

    Prints the address to open on any device and the code to type there; works without a
    terminal to type into. The token cache is stored with mode 0600 and refreshed silently.
    """
    from connectors.outlook.auth import (
        app_token,
        browser_sign_in,
        confidential_app,
        device_sign_in,
        load_cache,
        public_app,
        save_cache,
    )
    from pipeline.config import OutlookAccount

    app = _app(ctx)
    known = {a.account: a for a in app.config.outlook}
    settings = known.get(account) or OutlookAccount(
        account, client_id=client_id or "", tenant=tenant or "common"
    )
    if client_id or tenant:
        settings = replace(
            settings,
            client_id=client_id or settings.client_id,
            tenant=tenant or settings.tenant,
        )
    cache_path = settings.cache_path(app.home)
    if revoke:
        if cache_path.exists():
            cache_path.unlink()
            app.say(f"forgot the token cache of {account} ({cache_path})")
        else:
            app.say(f"{account} has no token cache to forget")
        return
    if not settings.client_id:
        raise click.UsageError("--client-id is required (or a [[outlook]] table with one)")
    app.home.mkdir(parents=True, exist_ok=True)
    app.home.chmod(0o700)
    cache = load_cache(cache_path)
    try:
        if app_only or settings.app_only:
            secret_path = app.home / (settings.client_secret_file or "outlook-client-secret")
            try:
                secret = secret_path.read_text(encoding="utf-8").strip()
            except OSError:
                raise NetgardenError(f"{secret_path}: the app's client secret is missing") from None
            app_token(confidential_app(settings, cache, secret), f"outlook {account}")
            app.say(f"the app signs in for {account}")
        elif browser:
            browser_sign_in(public_app(settings, cache))
        else:
            device_sign_in(public_app(settings, cache), lambda text: click.echo(text, err=True))
    finally:
        save_cache(cache, cache_path)
    app.say(f"signed in; token cache stored in {cache_path} (mode 0600)")
    if account not in known:
        with (app.home / "config.toml").open("a", encoding="utf-8") as handle:
            handle.write(
                f'\n[[outlook]]\naccount = "{account}"\nclient_id = "{settings.client_id}"\n'
                f'tenant = "{settings.tenant}"\n'
            )
        app.say(f"added an [[outlook]] table for {account!r} to config.toml")


@main.command()
@click.argument("sources", nargs=-1)
@click.option("--since", help="Backfill mail from this date (YYYY-MM-DD) on a first sync.")
@click.option("--all", "everything", is_flag=True, help="Backfill all mail on a first sync.")
@click.pass_context
def sync(ctx: click.Context, sources: tuple[str, ...], since: str | None, everything: bool) -> None:
    """Pull what changed from the configured accounts (all of them, or those named: `gmail`,
    `outlook` or an account name). A first Gmail sync backfills `backfill_days` of mail."""
    from pipeline.store import Store

    app = _app(ctx)
    config = app.config
    gmail = [a for a in config.gmail if not sources or "gmail" in sources or a.account in sources]
    outlook = [
        a for a in config.outlook if not sources or "outlook" in sources or a.account in sources
    ]
    if not gmail and not outlook:
        _fail(
            "no account to sync; sign in with `netgarden auth gmail` or `netgarden auth outlook`"
            if not config.gmail and not config.outlook
            else f"no configured account is called {', '.join(sources)}"
        )
    try:
        start_day = date.fromisoformat(since) if since else None
    except ValueError:
        _fail(f"--since {since!r} is not a date (use YYYY-MM-DD)")
    failed = 0
    with Store(config.store_path) as store:
        for google in gmail:
            failed += not _sync_gmail(app, store, google, start_day, everything)
        for microsoft in outlook:
            failed += not _sync_outlook(app, store, microsoft)
    if failed:
        sys.exit(EXIT_PARTIAL)


def _options(config: Config) -> Any:
    from connectors.base import ReadOptions

    return ReadOptions(
        config.default_region, config.windows_codepage, config.timezone, config.mail_policy()
    )


def _sync_gmail(app: App, store: Any, account: Any, since: date | None, everything: bool) -> bool:
    """Sync one Google account; say one line; False when it failed."""
    import time

    from google.auth.exceptions import RefreshError
    from googleapiclient.errors import HttpError

    from connectors.gmail.auth import load_credentials, save_credentials
    from connectors.gmail.sync import GmailConnector, connector_error
    from pipeline.runner import sync_source

    label = f"gmail {account.account}"
    began = time.monotonic()
    try:
        credentials = load_credentials(account.token_path(app.home))
        connector = GmailConnector(
            account, credentials, _options(app.config), since=since, everything=everything
        )
        with _sync_progress(app, connector):
            summary = sync_source(store, connector)
        if credentials.token:
            save_credentials(credentials, account.token_path(app.home))
    except HttpError as exc:
        app.warn(f"{label}: {connector_error(exc)}")
        return False
    except RefreshError:
        app.warn(
            f"{label}: Google no longer accepts the sign-in (expired or revoked); "
            f"run `netgarden auth gmail --account {account.account}` again"
        )
        return False
    except NetgardenError as exc:
        app.warn(f"{label}: {exc}")
        return False
    _say_summary(app, label, summary, f"{connector.caller.ledger.units} quota units", began)
    return True


def _sync_outlook(app: App, store: Any, account: Any) -> bool:
    """Sync one Microsoft account (each listed mailbox with app-only access); False on failure."""
    import time

    from connectors.outlook.auth import (
        app_token,
        confidential_app,
        load_cache,
        public_app,
        save_cache,
        user_token,
    )
    from connectors.outlook.graph import Graph
    from connectors.outlook.sync import OutlookConnector
    from pipeline.runner import sync_source

    label = f"outlook {account.account}"
    cache_path = account.cache_path(app.home)
    ok = True
    try:
        cache = load_cache(cache_path)
    except NetgardenError as exc:
        app.warn(f"{label}: {exc}")
        return False
    try:
        if account.app_only:
            secret_path = app.home / (account.client_secret_file or "outlook-client-secret")
            try:
                secret = secret_path.read_text(encoding="utf-8").strip()
            except OSError:
                raise NetgardenError(f"{secret_path}: the app's client secret is missing") from None
            confidential = confidential_app(account, cache, secret)
            jobs = [
                (m, frozenset({m.lower()}), lambda fresh: app_token(confidential, label))
                for m in account.mailboxes
            ]
            if not jobs:
                raise NetgardenError("app-only access needs `mailboxes = [...]` to read")
        else:
            public = public_app(account, cache)
            _, username = user_token(public, label)
            jobs = [
                ("", frozenset({username}), lambda fresh: user_token(public, label, fresh=fresh)[0])
            ]
        for mailbox, me, token in jobs:
            began = time.monotonic()
            name = f"{label} {mailbox}".strip()
            graph = Graph(account.graph_url, token)
            connector = OutlookConnector(account, graph, _options(app.config), me, mailbox=mailbox)
            try:
                with _sync_progress(app, connector):
                    summary = sync_source(store, connector)
            except NetgardenError as exc:
                app.warn(f"{name}: {exc}")
                ok = False
                continue
            _say_summary(app, name, summary, f"{graph.ledger.requests} requests", began)
    except NetgardenError as exc:
        message = str(exc)
        app.warn(message if message.startswith(label) else f"{label}: {message}")
        ok = False
    finally:
        save_cache(cache, cache_path)  # msal may have refreshed tokens, even on failure
    return ok


def _say_summary(app: App, label: str, summary: Any, spent: str, began: float) -> None:
    import time

    for note in summary.notes:
        app.say(f"{label}: {note}")
    app.say(
        f"{label}: {summary.interactions_new} new exchanges (of {summary.interactions_read}), "
        f"{summary.contacts.new} new contacts, {summary.contacts_created} discovered, {spent}, "
        f"{time.monotonic() - began:.1f} s"
    )


@main.command("run")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the report files (default: HOME/reports).",
)
@click.pass_context
def run_(ctx: click.Context, out: Path | None) -> None:
    """Sync every account, classify and write the report: the command a scheduler calls.

    A failing account does not stop the report; the run then exits 3.
    """
    code = 0
    if _app(ctx).config.gmail or _app(ctx).config.outlook:
        try:
            ctx.invoke(sync)
        except SystemExit as exc:
            code = int(exc.code or 0)
    ctx.invoke(report, out=out, fmt="csv", as_of=None, top=5)
    if code:
        sys.exit(code)


@contextmanager
def _sync_progress(app: App, connector: Any) -> Iterator[None]:
    """Messages fetched and quota units spent, on a terminal."""
    if app.quiet or not sys.stderr.isatty():
        yield
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(
        SpinnerColumn(),
        TextColumn(
            "{task.description}: {task.fields[messages]} messages, {task.fields[units]} units"
        ),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(connector.stream(), total=None, messages=0, units=0)

        def update(units: int, messages: int) -> None:
            bar.update(task, messages=f"{messages:,}", units=f"{units:,}")

        connector.progress = update
        yield


@main.command()
@click.pass_context
def status(ctx: click.Context) -> None:
    """Each account's last successful sync and how old its saved position is."""
    from pipeline.store import Store

    app = _app(ctx)
    config = app.config
    streams: list[tuple[str, str, Path]] = [
        (f"gmail {a.account}", f"gmail:{a.account}", a.token_path(app.home)) for a in config.gmail
    ]
    for outlook in config.outlook:
        mailboxes = outlook.mailboxes if outlook.app_only else ("",)
        streams += [
            (
                f"outlook {outlook.account} {m}".strip(),
                f"outlook:{outlook.account}{':' + m if m else ''}",
                outlook.cache_path(app.home),
            )
            for m in mailboxes
        ]
    if not streams:
        click.echo("no accounts configured (`netgarden auth gmail` or `auth outlook` adds one)")
        return
    now = datetime.now(UTC)
    with Store(config.store_path) as store:
        for label, stream, token in streams:
            when = store.checkpoint_time(stream)
            signed = "signed in" if token.exists() else "not signed in"
            if when is None:
                click.echo(f"{label}: {signed}; never synced")
                continue
            age = now - when
            hours = age.total_seconds() / 3600
            old = f"{hours:.1f} hours" if hours < 48 else f"{age.days} days"
            click.echo(f"{label}: {signed}; last sync {when:%Y-%m-%d %H:%M} UTC, cursor {old} old")


@main.group()
def rules() -> None:
    """Work with the networks file."""


@rules.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def rules_check(ctx: click.Context, file: Path | None) -> None:
    """Report every problem of a networks file at once (default: the home's networks.toml)."""
    from rules.schema import default_text, parse_overrides, parse_rules

    app = _app(ctx)
    path = file or app.config.networks_path
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            _fail(f"{path}: cannot read: {exc}")
    elif file is not None:
        _fail(f"{path}: no such file")
    else:
        app.say(f"{path} does not exist; checking the default networks")
        text = default_text()
    ruleset, problems = parse_rules(text)
    overrides_path = app.config.overrides_path
    override_problems: list[str] = []
    if file is None and ruleset is not None and overrides_path.exists():
        _, override_problems = parse_overrides(overrides_path.read_text(encoding="utf-8"), ruleset)
    if problems or override_problems:
        for message in problems:
            click.echo(f"{path}: {message}", err=True)
        for message in override_problems:
            click.echo(f"{overrides_path}: {message}", err=True)
        total = len(problems) + len(override_problems)
        _fail(f"{_plural(total, 'problem')} found")
    assert ruleset is not None
    click.echo(
        f"{path}: ok ({_plural(len(ruleset.networks), 'network')}, "
        f"{_plural(len(ruleset.rules), 'rule')})"
    )
