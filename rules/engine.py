"""The rules engine: pure, first match wins, every assignment names the rule that made it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import NamedTuple

from pipeline.model import Person
from pipeline.strength import DEFAULT as DEFAULT_LADDER
from pipeline.strength import Ladder
from rules.overrides import Overrides
from rules.predicates import Context
from rules.schema import OVERRIDE_RULE, UNASSIGNED, Rule, RuleSet


class Assignment(NamedTuple):
    """A person's network, the rule id that put them there, and why it matched (a named
    tuple, as people are: one a person)."""

    network: str
    rule: str
    reasons: tuple[str, ...] = ()


def classify(
    person: Person,
    ruleset: RuleSet,
    overrides: Overrides,
    as_of: date,
    tz: tzinfo,
    context: Context | None = None,
) -> Assignment:
    """The network of one person as of a date: a decision of the overrides file, else the
    first matching rule. (`context`: the date and zone, when classifying many people.)"""
    decision = overrides.of(person)
    if decision is not None:
        return Assignment(decision.network, OVERRIDE_RULE, (f"override for {decision.key}",))
    if context is None:
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
    overrides: Overrides,
    as_of: date,
    tz: tzinfo,
    ladder: Ladder = DEFAULT_LADDER,
) -> dict[int, Assignment]:
    """The assignment of every person, by contact id (`ladder`: how strength weighs
    channels, for the strength conditions)."""
    context = Context(as_of, tz, ladder)
    return {p.contact_id: classify(p, ruleset, overrides, as_of, tz, context) for p in people}


@dataclass(frozen=True)
class RuleUse:
    """What one rule does in a store: the people it places, and the people it matches (the
    ones it would place if no rule above it caught them first)."""

    rule: str
    network: str
    line: int
    places: int
    matches: int


def rule_uses(
    people: Iterable[Person],
    ruleset: RuleSet,
    overrides: Overrides,
    as_of: date,
    tz: tzinfo,
    ladder: Ladder = DEFAULT_LADDER,
) -> list[RuleUse]:
    """How each rule of `ruleset` places `people`, in the rules' order."""
    context = Context(as_of, tz, ladder)
    places: dict[str, int] = {rule.id: 0 for rule in ruleset.rules}
    matches: dict[str, int] = {rule.id: 0 for rule in ruleset.rules}
    for person in people:
        placed = overrides.of(person) is not None
        for rule in ruleset.rules:
            if all(condition(person, context) is not None for condition in rule.conditions):
                matches[rule.id] += 1
                if not placed:
                    places[rule.id] += 1
                    placed = True
    return [
        RuleUse(rule.id, rule.network, rule.line, places[rule.id], matches[rule.id])
        for rule in ruleset.rules
    ]


def unused_labels(people: Iterable[Person], ruleset: RuleSet) -> list[tuple[Rule, str]]:
    """(rule, label) for every label a rule's condition names that no person has."""
    held = {label.casefold() for person in people for label in person.labels}
    return [
        (rule, wanted)
        for rule in ruleset.rules
        for condition in rule.conditions
        if condition.key == "label"
        for wanted in condition.values
        if wanted.casefold() not in held
    ]
