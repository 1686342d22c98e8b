"""`triage`: the review loop one person at a time in a terminal, one key per decision.

Each decision is written to the overrides file as it is taken (closing the terminal loses
nothing); `u` takes the last one back. The screen fits 80x24.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.text import Text

from pipeline.cli.group import App, app_of, fail, main, safe
from pipeline.cli.output import plural

if TYPE_CHECKING:
    from pipeline.decisions import Change
    from pipeline.model import Person
    from pipeline.review import Suggestion

_HELP = (
    "1-9  put the person in that network (the numbers of the list above)",
    "s or space  skip: decide later",
    "i  ignore: keep them out of every report, review and list, for good",
    "u  undo the last decision",
    "q  quit (every decision is saved as it is taken)",
)
_QUIT = ("q", "Q", "\x03", "\x04", "")  # q, Ctrl-C, Ctrl-D, the terminal gone


@dataclass
class _Round:
    """Where a round of triage stands."""

    people: list[Person]
    index: int = 0
    skipped: int = 0
    done: list[tuple[int, Change]] = field(default_factory=list)


@main.command()
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--network", default="unassigned", show_default=True, help="Whom to go through.")
@click.pass_context
def triage(ctx: click.Context, limit: int, network: str) -> None:
    """Decide where people belong, one person at a time, one key each (1-9 a network, s skip,
    i ignore, u undo, ? help, q quit), in `review export`'s order."""
    from pipeline.assignments import classified
    from pipeline.cli.options import as_of_day
    from pipeline.review import suggestions, who_needs_a_decision

    app = app_of(ctx)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        fail(
            "triage reads one key at a time from a terminal, and standard input is not one; "
            "in a script, use `netgarden review export` and `netgarden review apply`"
        )
    day = as_of_day(None, app)
    found = classified(app.config, day)
    if network not in (*found.ruleset.network_names, "unassigned", "all"):
        fail(f"no network named {network!r}")
    tz = app.config.tz()
    people = who_needs_a_decision(found.people, found.assignments, network, day, tz)[:limit]
    if not people:
        app.say("no one to decide: everyone is in a network")
        return
    hints = suggestions(found.people, found.assignments)
    networks = list(found.ruleset.network_names[:9])
    state = _Round(people)
    console = Console(highlight=False)
    with _keys() as key_pressed:
        while state.index < len(state.people):
            person = state.people[state.index]
            _draw(console, state, person, hints.get(person.contact_id), networks, day, tz)
            key = key_pressed()
            if key in _QUIT:
                break
            if key in ("s", " "):
                state.skipped += 1
                state.index += 1
            elif key == "u":
                _undo(app, state)
            elif key == "?":
                _draw_help(console, networks)
                key_pressed()
            elif key == "i" or (key.isdigit() and 1 <= int(key) <= len(networks)):
                choice = "ignore" if key == "i" else networks[int(key) - 1]
                _record(app, state, person, choice)
    console.clear()
    _summary(app, state)


@contextmanager
def _keys() -> Iterator[Callable[[], str]]:
    """Keys one at a time, the terminal kept in cbreak mode (no echo, no waiting for Enter)
    for the whole round. A key pressed while a screen is drawn waits to be read: click.getchar
    sets the terminal up again for each key, which throws away what was typed meanwhile."""
    try:
        import termios
        import tty
    except ImportError:  # not a POSIX terminal
        yield click.getchar
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd, termios.TCSANOW)
    try:
        yield lambda: sys.stdin.read(1)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _record(app: App, state: _Round, person: Person, choice: str) -> None:
    from pipeline.decisions import decide
    from rules.overrides import load_overrides
    from rules.schema import load_rules

    config = app.config
    networks = load_rules(config.networks_path).network_names
    overrides = load_overrides(config.overrides_path, networks)
    [change] = decide(config.overrides_path, [(person, choice)], overrides)
    state.done.append((state.index, change))
    state.index += 1


def _undo(app: App, state: _Round) -> None:
    from pipeline.decisions import undo

    if not state.done:
        return
    index, change = state.done.pop()
    undo(app.config.overrides_path, change)
    state.index = index


def _draw(
    console: Console,
    state: _Round,
    person: Person,
    hint: Suggestion | None,
    networks: list[str],
    day: date,
    tz: tzinfo,
) -> None:
    """One person on one screen: who, the evidence, the suggestion, the keys."""
    from pipeline.review import as_of_end

    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    history = as_of_end(person, end)
    last = history.last.at if history.last is not None else None
    year = history.count_since(end - timedelta(days=365))
    lines: list[Text] = [
        Text(f"netgarden triage: {state.index + 1} of {len(state.people)}", style="bold"),
        Text(""),
        Text(safe(person.name)[:78], style="bold cyan"),
    ]
    for label, value in (
        ("e-mail", ", ".join(person.emails[:2])),
        ("works", " · ".join(v for v in (person.title, person.organization) if v)),
        ("labels", ", ".join(person.labels)),
        ("from", ", ".join(person.sources)),
    ):
        if value:
            lines.append(Text(f"  {label:<8}{safe(value)}"[:78]))
    lines.append(
        Text(
            f"  last    {last.astimezone(tz).date() if last else 'never'}; {year} in a year: "
            f"{history.outbound} sent, {history.inbound} received, {history.mutual} met"
        )
    )
    lines.append(Text(""))
    if hint is not None:
        lines.append(Text(safe(f"  suggested: {hint.network} ({hint.reason})")[:78], "green"))
    else:
        lines.append(Text("  no suggestion", style="dim"))
    lines.append(Text(""))
    for number, name in enumerate(networks, start=1):
        lines.append(Text(f"  {number}  {safe(name)}"[:78]))
    lines.append(Text(""))
    lines.append(Text("  s skip   i ignore   u undo   ? help   q quit", style="dim"))
    console.clear()
    for line in lines[:23]:
        console.print(line)


def _draw_help(console: Console, networks: list[str]) -> None:
    console.clear()
    console.print(Text("netgarden triage: keys", style="bold"))
    console.print(Text(""))
    for line in _HELP:
        console.print(Text("  " + line))
    console.print(Text(""))
    console.print(Text(f"  networks: {', '.join(networks)}"[:78]))
    console.print(Text(""))
    console.print(Text("  any key to go back", style="dim"))


def _summary(app: App, state: _Round) -> None:
    placed: dict[str, int] = {}
    for _, change in state.done:
        placed[change.after or "no decision"] = placed.get(change.after or "no decision", 0) + 1
    ignored = placed.pop("ignore", 0)
    counts = ", ".join(f"{name} {n}" for name, n in sorted(placed.items()))
    total = sum(placed.values())
    app.say(
        f"placed {plural(total, 'person')}{f' ({counts})' if counts else ''}, ignored {ignored}, "
        f"skipped {state.skipped}; saved in {app.config.overrides_path}"
    )
