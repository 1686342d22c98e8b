"""The rules engine: pure, first match wins, every assignment names the rule that made it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, tzinfo

from pipeline.model import Person
from rules.predicates import Context
from rules.schema import OVERRIDE_RULE, UNASSIGNED, RuleSet


@dataclass(frozen=True)
class Assignment:
    """A person's network, the rule id that put them there, and why it matched."""

    network: str
    rule: str
    reasons: tuple[str, ...] = ()


def classify(
    person: Person,
    ruleset: RuleSet,
    overrides: Mapping[str, str],
    as_of: date,
    tz: tzinfo,
) -> Assignment:
    """The network of one person as of a date: an override, else the first matching rule."""
    for email in person.emails:
        if email in overrides:
            return Assignment(overrides[email], OVERRIDE_RULE, (f"override for {email}",))
    context = Context(as_of, tz)
    for rule in ruleset.rules:
        reasons: list[str] = []
        for condition in rule.conditions:
            reason = condition(person, context)
            if reason is None:
                break
            reasons.append(reason)
        else:
            return Assignment(rule.network, rule.id, tuple(reasons) or ("matches everyone",))
    return Assignment(UNASSIGNED, "", ("no rule matched",))


def classify_all(
    people: Iterable[Person],
    ruleset: RuleSet,
    overrides: Mapping[str, str],
    as_of: date,
    tz: tzinfo,
) -> dict[int, Assignment]:
    """The assignment of every person, by contact id."""
    return {p.contact_id: classify(p, ruleset, overrides, as_of, tz) for p in people}
