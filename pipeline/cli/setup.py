"""Setting up a home: `init`, and checking the networks file (`rules check`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pipeline.cli.group import App, app_of, echo, fail, main
from pipeline.cli.output import plural
from pipeline.config import CONFIG_TEMPLATE, ensure_home

if TYPE_CHECKING:
    from rules.overrides import Overrides
    from rules.schema import RuleSet


@main.command()
@click.pass_context
def init(ctx: click.Context) -> None:
    """Write config.toml and networks.toml into the home (existing files are kept)."""
    from rules.schema import default_text

    app = app_of(ctx)
    ensure_home(app.home)
    for name, text in (("config.toml", CONFIG_TEMPLATE), ("networks.toml", default_text())):
        path = app.home / name
        if path.exists():
            app.say(f"kept {path} (already there)")
        else:
            path.write_text(text, encoding="utf-8")
            app.say(f"wrote {path}")
    app.say("next: edit networks.toml, then `netgarden import` your address book")


@main.group()
def rules() -> None:
    """Work with the networks file."""


@rules.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def rules_check(ctx: click.Context, file: Path | None) -> None:
    """Report every problem of a networks file at once (default: the home's networks.toml),
    then how many people each rule places in the store, and what looks wrong there."""
    from pipeline.files import read_settings
    from rules.overrides import Overrides, parse_overrides
    from rules.schema import default_text, parse_rules

    app = app_of(ctx)
    path = file or app.config.networks_path
    if path.exists() or file is not None:
        try:
            text = read_settings(path)
        except (OSError, ValueError) as exc:
            fail(f"{path}: cannot read: {exc}")
    else:
        app.say(f"{path} does not exist; checking the default networks")
        text = default_text()
    ruleset, problems = parse_rules(text)
    overrides_path = app.config.overrides_path
    override_problems: list[str] = []
    overrides = Overrides()
    if file is None and ruleset is not None and overrides_path.exists():
        try:
            overrides, override_problems = parse_overrides(
                read_settings(overrides_path), ruleset.network_names
            )
        except (OSError, ValueError) as exc:
            override_problems = [f"cannot read: {exc}"]
    if problems or override_problems:
        for message in problems:
            echo(f"{path}: {message}", err=True)
        for message in override_problems:
            echo(f"{overrides_path}: {message}", err=True)
        total = len(problems) + len(override_problems)
        fail(f"{plural(total, 'problem')} found")
    assert ruleset is not None
    echo(
        f"{path}: ok ({plural(len(ruleset.networks), 'network')}, "
        f"{plural(len(ruleset.rules), 'rule')})"
    )
    if app.config.store_path.exists():
        _uses(app, path, ruleset, overrides)


def _uses(app: App, path: Path, ruleset: RuleSet, overrides: Overrides) -> None:
    """How many people each rule places in the store, and the warnings that follow."""
    from pipeline.assignments import listed
    from pipeline.cli.options import as_of_day
    from rules.engine import rule_uses, unused_labels

    today = as_of_day(None, app)
    people = listed(app.config, overrides, today)
    uses = rule_uses(people, ruleset, overrides, today, app.config.tz())
    echo(f"in the store ({plural(len(people), 'person')}):")
    for use in uses:
        caught = use.matches - use.places
        above = f"; {caught} more match it but a rule above places them" if caught else ""
        echo(f"  {use.rule} -> {use.network}: places {plural(use.places, 'person')}{above}")
    for rule, label in unused_labels(people, ruleset):
        app.warn(f"{path}: line {rule.line}: rule '{rule.id}': no contact has the label {label!r}")
    for use in uses:
        if not use.matches:
            app.warn(f"{path}: line {use.line}: rule '{use.rule}' matches no one in the store")
    _check_overrides(app, overrides)


def _check_overrides(app: App, overrides: Overrides) -> None:
    """Decisions that name no one in the store, and people two decisions send two ways."""
    from pipeline.assignments import everyone

    where = app.config.overrides_path
    people = everyone(app.config)
    held = {h for p in people for h in (*(("email", e) for e in p.emails),
                                         *(("url", u) for u in p.urls),
                                         *(("phone", n) for n in p.phones))}  # fmt: skip
    for decision in overrides.decisions:
        if decision.handle not in held:
            app.warn(f"{where}: line {decision.line}: no contact has {decision.key}")
    for person in people:
        decisions = overrides.all_of(person)
        if len({d.network for d in decisions}) > 1:
            first, *others = decisions
            said = "; ".join(f"line {d.line} says {d.network}" for d in others)
            app.warn(
                f"{where}: line {first.line} sends {person.name} to {first.network}, but {said} "
                f"(one person's addresses): line {first.line} wins"
            )


@rules.command("suggest")
@click.option(
    "--min-people",
    type=click.IntRange(min=1),
    default=3,
    show_default=True,
    help="Decided people a rule must explain, at the least.",
)
@click.pass_context
def rules_suggest(ctx: click.Context, min_people: int) -> None:
    """Propose rules that would have made the decisions you took by hand (e-mail domains,
    organizations and labels whose people you all sent to one network), printed as TOML to
    append to networks.toml, with how many people each would newly place."""
    from pipeline.assignments import classified
    from pipeline.cli.options import as_of_day
    from rules.overrides import load_overrides
    from rules.suggest import as_toml, propose

    app = app_of(ctx)
    found = classified(app.config, as_of_day(None, app))
    overrides = load_overrides(app.config.overrides_path, found.ruleset.network_names)
    proposals = propose(
        found.people, overrides, found.assignments, found.ruleset.network_names, min_people
    )
    if not proposals:
        app.say(
            f"no rule explains {min_people} or more of your decisions yet; decide more with "
            "`netgarden review export` or `netgarden triage`"
        )
        return
    echo(as_toml(proposals, (r.id for r in found.ruleset.rules)).rstrip("\n"))
