"""Deciding where people belong: `review export` and `review apply` (a spreadsheet), `ignore`
and `unignore`. Every decision is written to the overrides file, where it wins over the rules
and outlives every import."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.group import App, app_of, echo, fail, main
from pipeline.cli.options import as_of_day, as_of_option
from pipeline.cli.output import plural

if TYPE_CHECKING:
    from pipeline.decisions import Change


@main.group()
def review() -> None:
    """Decide where people belong in a spreadsheet: export, fill the network column, apply."""


@review.command("export")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The file to write (default: HOME/reports/review.csv).",
)
@click.option(
    "--network",
    default="unassigned",
    show_default=True,
    help="Whom to list: unassigned, all, or the people of one network.",
)
@click.option("--limit", type=click.IntRange(min=1), help="At most this many people.")
@as_of_option("Count exchanges as of this date (default: today).")
@click.pass_context
def review_export(
    ctx: click.Context, out: Path | None, network: str, limit: int | None, as_of: str | None
) -> None:
    """Write the people who need a decision, most recent exchange first, with the evidence to
    decide and a suggestion where the people already placed point one way. Fill the `network`
    column (a network's name, or `ignore`), leave the rest, then `netgarden review apply`."""
    from pipeline.assignments import classified
    from pipeline.export import write_csv
    from pipeline.review import REVIEW_COLUMNS, review_rows, suggestions, who_needs_a_decision

    app = app_of(ctx)
    day = as_of_day(as_of, app)
    found = classified(app.config, day)
    names = (*found.ruleset.network_names, "unassigned")
    if network not in (*names, "all"):
        fail(f"no network named {network!r}; give unassigned, all or one of: {', '.join(names)}")
    tz = app.config.tz()
    people = who_needs_a_decision(found.people, found.assignments, network, day, tz)[:limit]
    rows = review_rows(people, suggestions(found.people, found.assignments), day, tz)
    path = out or app.home / "reports" / "review.csv"
    write_csv(path, REVIEW_COLUMNS, rows)
    suggested = sum(1 for row in rows if row[12])
    app.say(
        f"wrote {path}: {plural(len(rows), 'person')} to decide ({suggested} with a "
        "suggestion); fill the network column, then `netgarden review apply` it"
    )


@review.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what would move; write nothing.")
@click.pass_context
def review_apply(ctx: click.Context, file: Path, dry_run: bool) -> None:
    """Record every decision of a filled review file in the overrides file (blank rows are
    left alone). A file with any mistake is refused whole, with the row that has it."""
    from pipeline.assignments import everyone
    from pipeline.decisions import decide
    from pipeline.review import ReviewError, read_review
    from pipeline.store import READER_PATIENCE, Store
    from rules.overrides import load_overrides
    from rules.schema import load_rules

    app = app_of(ctx)
    config = app.config
    ruleset = load_rules(config.networks_path)
    overrides = load_overrides(config.overrides_path, ruleset.network_names)
    if file.stat().st_size > 64 << 20 or not file.is_file():
        fail(f"{file}: not a review file")
    with Store(config.store_path, patience=READER_PATIENCE) as store:
        known = store.person_of()
    try:
        decided = read_review(file.read_bytes(), ruleset.network_names, known)
    except ReviewError as exc:
        fail(f"{file}: {exc}; nothing was recorded")
    people = {p.contact_id: p for p in everyone(config)}
    changes = decide(
        config.overrides_path,
        [(people[d.contact_id], d.choice) for d in decided if d.contact_id in people],
        overrides,
        dry_run=dry_run,
    )
    _say_changes(app, changes, dry_run, config.overrides_path)


def _say_changes(app: App, changes: Sequence[Change], dry_run: bool, path: Path) -> None:
    """What moved where: counts per network, and who."""
    moved: dict[str, list[str]] = defaultdict(list)
    for change in changes:
        if change.changed:
            moved[change.after or "no decision"].append(change.person.name)
    same = sum(1 for c in changes if not c.changed)
    verb = "would move" if dry_run else "moved"
    for network, names in sorted(moved.items()):
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        echo(f"{verb} to {network}: {plural(len(names), 'person')} ({shown})")
    if same:
        app.say(f"{plural(same, 'decision')} already recorded")
    if not moved:
        app.say("nothing changed")
    elif dry_run:
        app.say("dry run: nothing was written")
    else:
        app.say(f"recorded in {path}")


@main.command()
@click.argument("who", nargs=-1, required=True)
@click.pass_context
def ignore(ctx: click.Context, who: tuple[str, ...]) -> None:
    """Keep people out of every report, review and contact list, for good (an import never
    brings them back). WHO is an e-mail address, a contact id or the unique name of a person."""
    _decide_for(app_of(ctx), who, "ignore")


@main.command()
@click.argument("who", nargs=-1, required=True)
@click.pass_context
def unignore(ctx: click.Context, who: tuple[str, ...]) -> None:
    """Bring back people `netgarden ignore` kept out (an address config.toml's `ignore` names
    stays out: that is a setting)."""
    _decide_for(app_of(ctx), who, None)


def _decide_for(app: App, who: tuple[str, ...], choice: str | None) -> None:
    from pipeline.assignments import everyone
    from pipeline.decisions import decide
    from pipeline.logbook import find_one
    from pipeline.store import READER_PATIENCE, Store
    from rules.overrides import IGNORE, load_overrides
    from rules.schema import load_rules

    config = app.config
    ruleset = load_rules(config.networks_path)
    overrides = load_overrides(config.overrides_path, ruleset.network_names)
    with Store(config.store_path, patience=READER_PATIENCE) as store:
        ids = [find_one(store, name, "say whom") for name in who]
    people = {p.contact_id: p for p in everyone(config)}
    chosen = [people[i] for i in ids if i in people]
    if choice is None:
        not_ignored = [p.name for p in chosen if not overrides.ignores(p)]
        if not_ignored:
            fail(f"{', '.join(not_ignored)}: not ignored by `netgarden ignore`")
        chosen = [p for p in chosen if overrides.ignores(p)]
    changes = decide(config.overrides_path, [(p, choice) for p in chosen], overrides)
    for change in changes:
        done = "ignored" if choice == IGNORE else "back"
        state = done if change.changed else f"already {done}"
        app.say(f"{change.person.name} <{change.key}>: {state}")
