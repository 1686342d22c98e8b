"""Setting up a home: `init`, and checking the networks file (`rules check`)."""

from __future__ import annotations

from pathlib import Path

import click

from pipeline.cli.group import app_of, fail, main
from pipeline.cli.output import plural
from pipeline.config import CONFIG_TEMPLATE, ensure_home


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
    """Report every problem of a networks file at once (default: the home's networks.toml)."""
    from rules.schema import default_text, parse_overrides, parse_rules

    app = app_of(ctx)
    path = file or app.config.networks_path
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            fail(f"{path}: cannot read: {exc}")
    elif file is not None:
        fail(f"{path}: no such file")
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
        fail(f"{plural(total, 'problem')} found")
    assert ruleset is not None
    click.echo(
        f"{path}: ok ({plural(len(ruleset.networks), 'network')}, "
        f"{plural(len(ruleset.rules), 'rule')})"
    )
