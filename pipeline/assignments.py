"""Who is in which network: the people of the store, placed by the overrides and the rules as of
a date, and the placement saved for the commands that read it back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from pipeline.config import Config
from pipeline.mail import MailPolicy
from pipeline.model import Person
from pipeline.store import (
    READER_CACHE_MB,
    READER_PATIENCE,
    WRITER_PATIENCE,
    Store,
    StoreBusy,
    assignments_digest,
)
from rules.engine import Assignment, classify_all
from rules.overrides import IGNORE, Overrides, load_overrides
from rules.schema import RuleSet, load_rules


@dataclass(frozen=True)
class Classified:
    """Everyone in networks and reports, their assignment by contact id, and the rules."""

    people: list[Person]
    assignments: dict[int, Assignment]
    ruleset: RuleSet
    as_of: date


def classified(config: Config, as_of: date, part: tuple[int, int] = (0, 1)) -> Classified:
    """Everyone in the store with their assignment as of a date (`part`: see Store.people).

    Discovered people join networks and reports once the relationship is two-way, or once the
    user puts them in a network by hand (an override). RulesError when a file is bad.
    """
    ruleset = load_rules(config.networks_path)
    overrides = load_overrides(config.overrides_path, ruleset.network_names)
    people = listed(config, overrides, as_of, part)
    assignments = classify_all(
        people, ruleset, overrides, as_of, config.tz(), config.channel_ladder()
    )
    return Classified(people, assignments, ruleset, as_of)


def listed(
    config: Config, overrides: Overrides, as_of: date, part: tuple[int, int] = (0, 1)
) -> list[Person]:
    """The people networks and reports are about, their histories as of a date: not the
    ignored ones, and discovered people once the relationship is two-way or once the user
    decided where they belong."""
    policy = config.mail_policy()
    people = everyone(config, as_of, part)
    if not overrides and not policy.ignores_any:
        return [p for p in people if p.listed]
    return [
        p
        for p in people
        if not ignored(p, overrides, policy) and (p.listed or overrides.of(p) is not None)
    ]


def ignored(person: Person, overrides: Overrides, policy: MailPolicy) -> str:
    """Why a person is kept out of everything ("" when they are not): a decision of the
    overrides file, or an address or domain of config.toml's `ignore`."""
    decision = overrides.of(person)
    if decision is not None and decision.network == IGNORE:
        return f"ignored by line {decision.line} of the overrides file ({decision.key})"
    for email in person.emails:
        if policy.is_ignored(email):
            return f"{email} is in config.toml's ignore"
    return ""


def my_addresses(config: Config, store: Store) -> frozenset[str]:
    """The user's own addresses: `me` of config.toml when it names any, else what imports
    inferred (and the store kept)."""
    if config.me:
        return config.mail_policy().me
    return frozenset(address for address, _ in store.inferred_me())


def everyone(
    config: Config, as_of: date | None = None, part: tuple[int, int] = (0, 1)
) -> list[Person]:
    """Every person in the store, discovered or not, in no network yet (the user is no one);
    their histories as of the end of a date (exchanges after it do not count), or all."""
    until = end_of(as_of, config.tz()) if as_of is not None else None
    with Store(config.store_path, patience=READER_PATIENCE, cache_mb=READER_CACHE_MB) as store:
        return store.people(my_addresses(config, store), until, part)


def end_of(day: date, zone: tzinfo) -> datetime:
    """The first instant after `day` in `zone`, in UTC: what a report as of `day` counts up
    to (UTC because every stored instant is: comparing two cost no time-zone lookup)."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)


def save(config: Config, assignments: Mapping[int, Assignment], *, wait: bool = True) -> bool:
    """Replace the stored network of every person (one transaction). Without `wait`, a store
    another command is writing to is left as it is (False): the report does not need it."""
    placed = [(pid, a.network, a.rule) for pid, a in assignments.items()]
    digest = assignments_digest(placed)
    try:
        with Store(config.store_path, patience=WRITER_PATIENCE if wait else 0.0) as store:
            if store.assignments_saved(placed, digest):
                return True
            with store.transaction():
                store.save_assignments(placed, digest)
    except StoreBusy:
        if wait:
            raise
        return False
    return True
