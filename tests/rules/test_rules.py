"""The networks file is validated up front, and the engine is first-match-wins."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from pipeline.model import InteractionSummary, Person
from rules.engine import classify
from rules.overrides import Overrides, parse_overrides
from rules.schema import default_text, parse_rules

RULES = """
default_cadence_days = 60
due_soon_days = 7

[[networks]]
name = "clients"
value = "Fast answers."
cadence_days = 30

[[networks]]
name = "investors"

[[rules]]
id = "clients-by-domain"
network = "clients"
when = { email_domain = ["acme.com"] }

[[rules]]
id = "investors-by-label"
network = "investors"
when = { label = ["Investors"], any_interaction_within_days = 365 }

[[rules]]
id = "founders"
network = "investors"
[rules.when]
title = "founder|partner"
min_interactions = 2
"""


NONE = Overrides()


def person(**kwargs: object) -> Person:
    base: dict[str, object] = {"contact_id": 1, "name": "Ann"}
    base.update(kwargs)
    return Person.of(**base)  # type: ignore[arg-type]


def exchange(day: str) -> InteractionSummary:
    return InteractionSummary(
        datetime.fromisoformat(day + "T12:00:00+00:00"), "mutual", "call", "t"
    )


def rules():  # type: ignore[no-untyped-def]
    ruleset, problems = parse_rules(RULES)
    assert problems == []
    assert ruleset is not None
    return ruleset


AS_OF = date(2026, 11, 15)


def test_default_networks_file_is_valid_and_has_the_six_networks() -> None:
    ruleset, problems = parse_rules(default_text())
    assert problems == []
    assert ruleset is not None
    assert ruleset.network_names == (
        "clients",
        "partners",
        "potential employees",
        "investors",
        "mentors",
        "potential employers",
    )
    assert {n.cadence_days for n in ruleset.networks} == {60}


def test_first_match_wins_and_records_the_rule() -> None:
    who = person(
        emails=("ann@eu.acme.com",), labels=("Investors",), interactions=(exchange("2026-10-01"),)
    )
    result = classify(who, rules(), NONE, AS_OF, UTC)
    assert (result.network, result.rule) == ("clients", "clients-by-domain")
    assert result.reasons == ("e-mail ann@eu.acme.com is at acme.com",)


def test_every_condition_of_a_rule_must_hold() -> None:
    stale = person(labels=("investors",), interactions=(exchange("2024-01-01"),))
    assert classify(stale, rules(), NONE, AS_OF, UTC).network == "unassigned"
    recent = person(labels=("investors",), interactions=(exchange("2026-01-01"),))
    assert classify(recent, rules(), NONE, AS_OF, UTC).rule == "investors-by-label"


def test_interactions_after_the_report_date_do_not_count() -> None:
    who = person(
        titles=("Founding Partner",), interactions=(exchange("2026-01-01"), exchange("2026-12-01"))
    )
    assert classify(who, rules(), NONE, AS_OF, UTC).network == "unassigned"
    assert classify(who, rules(), NONE, date(2026, 12, 2), UTC).rule == "founders"


def test_override_wins_over_every_rule() -> None:
    who = person(emails=("ann@acme.com",))
    decided, _ = parse_overrides('"Ann@Acme.com" = "investors"\n', rules().network_names)
    result = classify(who, rules(), decided, AS_OF, UTC)
    assert (result.network, result.rule) == ("investors", "override")


def test_no_rule_means_unassigned_with_the_default_cadence() -> None:
    ruleset = rules()
    assert classify(person(), ruleset, NONE, AS_OF, UTC).network == "unassigned"
    assert ruleset.cadence("unassigned") == 60
    assert ruleset.cadence("clients") == 30
    assert ruleset.cadence("investors") == 60


def test_every_problem_is_reported_at_once_with_lines_and_hints() -> None:
    bad = """default_cadence_days = 60
due_soon_dayz = 7

[[networks]]
name = "clients"
cadense_days = 30

[[rules]]
id = "a"
network = "client"
when = { email_domian = ["acme.com"], title = "([" }

[[rules]]
id = "a"
network = "clients"
[rules.when]
min_interactions = -1
"""
    _, problems = parse_rules(bad)
    assert problems == [
        "line 2: unknown key 'due_soon_dayz' (did you mean 'due_soon_days'?)",
        "line 6: networks[0]: unknown key 'cadense_days' (did you mean 'cadence_days'?)",
        "line 10: rule 'a': no network named 'client' (did you mean 'clients'?)",
        "line 11: rule 'a': unknown condition 'email_domian' (did you mean 'email_domain'?)",
        "line 11: rule 'a': 'title': bad regular expression '([': missing ]: [",
        "line 14: rule id 'a' is used twice or reserved",
        "line 17: rule 'a': 'min_interactions' takes a whole number from 0 to 36,500",
    ]


def test_toml_syntax_error_names_the_line() -> None:
    _, problems = parse_rules("[[networks]\nname = 1\n")
    assert len(problems) == 1
    assert "line 1" in problems[0]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '"ann@acme.com" = "investor"',
            "line 2: ann@acme.com: no network named 'investor' (did you mean 'investors'?)",
        ),
        ('"not-an-email" = "clients"', "line 2: 'not-an-email' is not an e-mail address"),
    ],
)
def test_overrides_are_checked(text: str, problem: str) -> None:
    overrides, problems = parse_overrides("[overrides]\n" + text + "\n", rules().network_names)
    assert not overrides
    assert len(problems) == 1 and problems[0].startswith(problem)


def test_overrides_name_people_by_address_profile_or_phone_at_the_top_and_in_the_table() -> None:
    text = (
        '"Ann@ACME.com" = "clients"\n'
        '"https://www.LinkedIn.com/in/sam/" = "investors"\n'
        "[overrides]\n"
        '"+1 555 010 0123" = "ignore"\n'
    )
    overrides, problems = parse_overrides(text, rules().network_names)
    assert problems == []
    assert [(d.handle, d.network, d.line) for d in overrides.decisions] == [
        (("email", "ann@acme.com"), "clients", 1),
        (("url", "https://www.linkedin.com/in/sam"), "investors", 2),
        (("phone", "+15550100123"), "ignore", 4),
    ]


def test_two_different_decisions_for_one_handle_are_refused() -> None:
    text = '"ann@acme.com" = "clients"\n[overrides]\n"ANN@acme.com" = "investors"\n'
    _, problems = parse_overrides(text, rules().network_names)
    assert problems == [
        "line 3: ANN@acme.com: line 1 already says 'clients' for it, this line says 'investors'"
    ]


def _one_rule(when: str, networks: str = '[[networks]]\nname = "clients"\n') -> list[str]:
    text = f'{networks}\n[[rules]]\nid = "r"\nnetwork = "clients"\n{when}\n'
    return parse_rules(text)[1]


@pytest.mark.parametrize(
    ("when", "problem"),
    [
        ("", "'when' names no condition, so it would match everyone"),
        ("when = {}", "'when' names no condition, so it would match everyone"),
        ('when = { source = ["linkdin"] }', "no source is called 'linkdin' (did you mean"),
        (
            "when = { min_interactions = 5, max_interactions = 2 }",
            "min_interactions (5) is above max_interactions (2): it can never match",
        ),
        ('when = { name = "a{4294967295}" }', "a repetition above 1000"),
        ('when = { name = "(?<=x)y" }', "bad regular expression"),
        ("when = { any_interaction_within_days = 9999999 }", "from 0 to 36,500"),
        ("when = { strength_at_least = 101 }", "takes a strength from 0 to 100"),
    ],
)
def test_a_rule_that_cannot_work_is_refused(when: str, problem: str) -> None:
    [found] = _one_rule(when)
    assert problem in found and found.startswith("line ")


@pytest.mark.parametrize("value", ["3000000", "9223372036854775807", "0"])
def test_a_cadence_out_of_range_is_refused(value: str) -> None:
    [found] = _one_rule(
        'when = { label = ["x"] }', f'[[networks]]\nname = "clients"\ncadence_days = {value}\n'
    )
    assert "'cadence_days' must be a whole number from 1 to 3650" in found


def test_a_backtracking_pattern_runs_in_linear_time() -> None:
    import time

    ruleset, problems = parse_rules(
        '[[networks]]\nname = "n"\n[[rules]]\nid = "r"\nnetwork = "n"\nwhen = { name = "(a+)+$" }\n'
    )
    assert ruleset is not None and not problems
    someone = person(name="a" * 100_000 + "!")
    began = time.monotonic()
    assert classify(someone, ruleset, NONE, date(2026, 11, 1), UTC).network == "unassigned"
    assert time.monotonic() - began < 5  # Python's engine takes minutes on this


def test_rules_can_ask_for_a_strong_or_a_weak_relationship() -> None:
    ruleset, problems = parse_rules(
        '[[networks]]\nname = "mentors"\n\n[[networks]]\nname = "partners"\n\n'
        '[[rules]]\nid = "close"\nnetwork = "mentors"\nwhen = { strength_at_least = 60 }\n\n'
        '[[rules]]\nid = "faint"\nnetwork = "partners"\nwhen = { strength_below = 20 }\n'
    )
    assert problems == [] and ruleset is not None
    weekly = person(
        interactions=tuple(exchange(f"2026-{m:02d}-{d:02d}") for m in (9, 10, 11) for d in (1, 8))
    )
    once = person(interactions=(exchange("2024-01-10"),))
    between = person(interactions=(exchange("2026-10-01"), exchange("2026-11-01")))
    found = [classify(p, ruleset, NONE, AS_OF, UTC) for p in (weekly, once, between)]
    assert [a.network for a in found] == ["mentors", "partners", "unassigned"]
    assert found[0].reasons[0].startswith("strength ") and "(at least 60)" in found[0].reasons[0]
    # As of a date before the calls, none of them counts yet.
    early = classify(weekly, ruleset, NONE, date(2026, 8, 1), UTC)
    assert (early.network, early.reasons) == ("partners", ("strength 0 (below 20)",))
