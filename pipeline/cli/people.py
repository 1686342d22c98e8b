"""People as netgarden sees them: `contacts`, `classify`, and the merge decisions
(`suggestions`, `merge`)."""

from __future__ import annotations

from collections import Counter

import click

from pipeline.cli.group import App, app_of, echo, fail, main
from pipeline.cli.options import as_of_day, as_of_option, format_option
from pipeline.cli.output import plural, print_rows


@main.command()
@click.option("--explain", is_flag=True, help="Show, per contact, which rule matched and why.")
@as_of_option("Date the recency conditions count from (default: today).")
@click.pass_context
def classify(ctx: click.Context, explain: bool, as_of: str | None) -> None:
    """Sort every contact into a network by the rules of networks.toml."""
    from functools import partial

    from pipeline.parts import over_everyone, save_placed
    from pipeline.views import explained

    app = app_of(ctx)
    done, ruleset = over_everyone(
        app.config, as_of_day(as_of, app), partial(explained, with_reasons=explain)
    )
    found = [item for part in done for item in part]
    save_placed(app.config, [(pid, network, rule) for pid, network, rule, *_ in found])
    if explain:
        for _, network, rule, name, email, reasons in sorted(found, key=lambda f: f[3].casefold()):
            by = f" by rule '{rule}'" if rule else ""
            who = f"{name} <{email}>" if email else name
            echo(f"{who}: {network}{by}: {'; '.join(reasons)}")
    counts = Counter(network for _, network, *_ in found)
    order = [*ruleset.network_names, "unassigned"]
    app.say(
        f"classified {plural(len(found), 'contact')}: "
        + ", ".join(f"{name} {counts.get(name, 0)}" for name in order)
    )


@main.command()
@click.option("--network", help="Only the people of this network.")
@format_option(("table", "csv", "json"), "table")
@click.option(
    "--discovered",
    is_flag=True,
    help="List the people met only in mail and calendars, most active first, one-way included.",
)
@click.option(
    "--ignored",
    is_flag=True,
    help="List the people kept out of everything (`netgarden ignore`, config.toml's ignore).",
)
@click.pass_context
def contacts(
    ctx: click.Context, network: str | None, fmt: str, discovered: bool, ignored: bool
) -> None:
    """List people as netgarden sees them (to check an import). Multi-values are joined by ';'.

    The list holds the address book and the discovered people with a two-way relationship (the
    people in the report); --discovered lists every discovered person instead, --ignored the
    people kept out of everything.
    """
    from functools import partial

    from pipeline.assignments import everyone
    from pipeline.parts import over_everyone
    from pipeline.views import (
        CONTACT_COLUMNS,
        DISCOVERED_COLUMNS,
        contact_rows_of,
        discovered_rows,
    )
    from rules.schema import load_rules

    app = app_of(ctx)
    if (discovered or ignored) and network is not None:
        raise click.UsageError("--discovered and --ignored list people in no network")
    if discovered and ignored:
        raise click.UsageError("--discovered or --ignored, not both")
    if ignored:
        print_rows(_ignored_rows(app), _IGNORED_COLUMNS, fmt, "ignored person", whole=_ALWAYS)
        return
    if discovered:
        rows = discovered_rows(everyone(app.config), app.config.tz())
        print_rows(rows, DISCOVERED_COLUMNS, fmt, "discovered contact", whole=_ALWAYS)
        return
    ruleset = load_rules(app.config.networks_path)
    names = (*ruleset.network_names, "unassigned")
    if network is not None and network not in names:
        fail(f"no network named {network!r}; networks: " + ", ".join(names))
    config = app.config
    rows_of = partial(
        contact_rows_of, network=network, zone=config.tz(), ladder=config.channel_ladder()
    )
    done, _ = over_everyone(config, as_of_day(None, app), rows_of)
    rows = sorted((row for part in done for row in part), key=lambda r: r["contact_id"])
    for row in rows:
        row["email"] = row["emails"][0] if row["emails"] else ""
        row["more e-mails"] = row["emails"][1:]
    if fmt != "table":
        for row in rows:
            del row["email"], row["more e-mails"]
    print_rows(rows, CONTACT_COLUMNS, fmt, "contact", table=_CONTACT_TABLE, whole=_ALWAYS)


#: What a contacts table shows first, and always whole: who it is and how to write to them.
_ALWAYS = ("contact_id", "name", "email")
_CONTACT_TABLE = (
    "contact_id",
    "name",
    "email",
    "network",
    "organization",
    "phones",
    "title",
    "labels",
    "sources",
    "more e-mails",
    "strength",
)


@main.command()
@click.option("--accept", is_flag=True, help="Merge every suggested pair (after reviewing them).")
@click.pass_context
def suggestions(ctx: click.Context, accept: bool) -> None:
    """People who may be one person: a shared phone, or the same name at the same organization.

    netgarden merges records only when they share an e-mail address; for everything else it
    asks. Review the list, then `netgarden merge ID ID` the pairs that are one person, or
    `--accept` them all.
    """
    from pipeline.assignments import my_addresses
    from pipeline.store import Store

    app = app_of(ctx)
    with Store(app.config.store_path) as store:
        found = store.suggestions()
        names = {p.contact_id: p for p in store.people(my_addresses(app.config, store))}
        found = [s for s in found if s.person_a in names and s.person_b in names]
        if not found:
            app.say("no suggestions")
            return
        for s in found:
            a, b = names[s.person_a], names[s.person_b]
            echo(
                f"{a.contact_id} {a.name} <{a.email}> ~ {b.contact_id} {b.name} <{b.email}>: "
                f"{s.reason}"
            )
        if accept:
            with store.transaction():
                for s in found:
                    store.merge([s.person_a, s.person_b])
            app.say(f"merged {plural(len(found), 'suggested pair')}")
        else:
            app.say(f"{plural(len(found), 'suggestion')}; `netgarden merge ID ID` confirms one")


@main.command()
@click.argument("ids", nargs=-1, type=int, required=True)
@click.pass_context
def merge(ctx: click.Context, ids: tuple[int, ...]) -> None:
    """Confirm that these contacts (their contact_id) are one person.

    The link is kept across imports; the person keeps the smallest id.
    """
    from pipeline.store import Store

    app = app_of(ctx)
    if len(set(ids)) < 2:
        raise click.UsageError("give at least two different contact ids")
    with Store(app.config.store_path) as store, store.transaction():
        known = store.person_ids()
        missing = [str(i) for i in ids if i not in known]
        if missing:
            fail(f"no contact with id {', '.join(missing)} (see `netgarden contacts`)")
        store.merge(list(ids))
    app.say(
        f"merged {', '.join(str(i) for i in ids)} into {min(ids)}; "
        f"`netgarden split {min(ids)}` undoes it"
    )


@main.command()
@click.argument("person", type=int)
@click.pass_context
def split(ctx: click.Context, person: int) -> None:
    """Undo a merge: PERSON (a contact_id, as `contacts` shows it) falls back into the people
    its records were before `merge` or `suggestions --accept` joined them."""
    from pipeline.store import Store

    app = app_of(ctx)
    with Store(app.config.store_path) as store, store.transaction():
        if person not in store.person_ids():
            fail(f"no contact with id {person} (see `netgarden contacts`)")
        parts = store.split(person)
    if len(parts) < 2:
        fail(
            f"{person} was not merged by hand: its records share an e-mail address, which makes "
            "them one person"
        )
    app.say(f"split {person} into {', '.join(str(p) for p in parts)}")


_IGNORED_COLUMNS = ("contact_id", "name", "email", "why")


def _ignored_rows(app: App) -> list[dict[str, object]]:
    from pipeline.assignments import everyone, ignored
    from rules.overrides import load_overrides
    from rules.schema import load_rules

    config = app.config
    overrides = load_overrides(
        config.overrides_path, load_rules(config.networks_path).network_names
    )
    policy = config.mail_policy()
    rows: list[dict[str, object]] = []
    for person in everyone(config):
        why = ignored(person, overrides, policy)
        if why:
            rows.append(
                {"contact_id": person.contact_id, "name": person.name, "email": person.email,
                 "why": why}
            )  # fmt: skip
    return rows
