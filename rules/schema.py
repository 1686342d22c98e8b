"""The networks file: TOML in, a validated RuleSet out, with every problem reported at once.

```toml
default_cadence_days = 60
due_soon_days = 7

[[networks]]
name = "clients"
value = "What I bring them."
cadence_days = 30

[[rules]]
id = "clients-by-domain"
network = "clients"
when = { email_domain = ["acme.com"] }
```
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pipeline.errors import RulesError
from pipeline.files import read_settings
from pipeline.tomllines import TomlLines
from rules.predicates import CONDITIONS, Condition, ConditionError, parse_condition

UNASSIGNED = "unassigned"
OVERRIDE_RULE = "override"
DEFAULT_FILE = "default_networks.toml"

_TOP_KEYS = ("default_cadence_days", "due_soon_days", "networks", "rules")
_NETWORK_KEYS = ("name", "value", "cadence_days")
_RULE_KEYS = ("id", "network", "when")


@dataclass(frozen=True)
class Network:
    """A target network: who belongs, what you offer them, how often to be in touch."""

    name: str
    value: str
    cadence_days: int


@dataclass(frozen=True)
class Rule:
    """Send a person to `network` when every condition holds."""

    id: str
    network: str
    conditions: tuple[Condition, ...]
    line: int


@dataclass(frozen=True)
class RuleSet:
    """A validated networks file."""

    default_cadence_days: int
    due_soon_days: int
    networks: tuple[Network, ...]
    rules: tuple[Rule, ...]

    @property
    def network_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.networks)

    def cadence(self, network: str) -> int:
        """Days allowed between exchanges in `network` (unassigned: the default)."""
        for item in self.networks:
            if item.name == network:
                return item.cadence_days
        return self.default_cadence_days

    def value(self, network: str) -> str:
        for item in self.networks:
            if item.name == network:
                return item.value
        return ""


def _hint(word: str, choices: list[str] | tuple[str, ...]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


#: The longest cadence a network may have: ten years (a report counts due dates from it).
MAX_CADENCE = 3650


def _positive_int(value: object, most: int = MAX_CADENCE) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= most


def parse_rules(text: str) -> tuple[RuleSet | None, list[str]]:
    """Validate a networks file; return the RuleSet (None if unusable) and every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return None, [f"not valid TOML: {exc}"]
    lines = TomlLines(text)
    problems: list[str] = []

    def problem(path: tuple[str, ...], message: str) -> None:
        number = lines.line(*path)
        problems.append(f"line {number}: {message}" if number else message)

    for key in data:
        if key not in _TOP_KEYS:
            problem((key,), f"unknown key '{key}'{_hint(key, _TOP_KEYS)}")
    default_cadence = data.get("default_cadence_days", 60)
    if not _positive_int(default_cadence):
        problem(
            ("default_cadence_days",),
            f"'default_cadence_days' must be a whole number from 1 to {MAX_CADENCE}",
        )
        default_cadence = 60
    due_soon = data.get("due_soon_days", 7)
    if isinstance(due_soon, bool) or not isinstance(due_soon, int) or not 0 <= due_soon <= 365:
        problem(("due_soon_days",), "'due_soon_days' must be a whole number from 0 to 365")
        due_soon = 7

    networks: list[Network] = []
    raw_networks = data.get("networks", [])
    if not isinstance(raw_networks, list):
        problem(("networks",), "'networks' must be written as [[networks]] tables")
        raw_networks = []
    for index, item in enumerate(raw_networks):
        where = ("networks", str(index))
        if not isinstance(item, dict):
            problem(where, f"networks[{index}] must be a table")
            continue
        for key in item:
            if key not in _NETWORK_KEYS:
                problem(
                    (*where, key),
                    f"networks[{index}]: unknown key '{key}'{_hint(key, _NETWORK_KEYS)}",
                )
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            problem(where, f"networks[{index}] needs a 'name'")
            continue
        if name == UNASSIGNED:
            problem((*where, "name"), f"'{UNASSIGNED}' is reserved for people no rule matches")
            continue
        if name in (n.name for n in networks):
            problem((*where, "name"), f"network '{name}' is defined twice")
            continue
        value = item.get("value", "")
        if not isinstance(value, str):
            problem((*where, "value"), f"network '{name}': 'value' must be a string")
            value = ""
        cadence = item.get("cadence_days", default_cadence)
        if not _positive_int(cadence):
            problem(
                (*where, "cadence_days"),
                f"network '{name}': 'cadence_days' must be a whole number from 1 to {MAX_CADENCE}",
            )
            cadence = default_cadence
        networks.append(Network(name, value, int(cadence)))
    names = [n.name for n in networks]

    rules: list[Rule] = []
    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        problem(("rules",), "'rules' must be written as [[rules]] tables")
        raw_rules = []
    ids: set[str] = set()
    for index, item in enumerate(raw_rules):
        where = ("rules", str(index))
        if not isinstance(item, dict):
            problem(where, f"rules[{index}] must be a table")
            continue
        rule_id = item.get("id")
        label = f"rule '{rule_id}'" if isinstance(rule_id, str) else f"rules[{index}]"
        for key in item:
            if key not in _RULE_KEYS:
                problem((*where, key), f"{label}: unknown key '{key}'{_hint(key, _RULE_KEYS)}")
        ok = True
        if not isinstance(rule_id, str) or not rule_id.strip():
            problem(where, f"rules[{index}] needs an 'id'")
            ok = False
        elif rule_id in ids or rule_id == OVERRIDE_RULE:
            problem((*where, "id"), f"rule id '{rule_id}' is used twice or reserved")
            ok = False
        else:
            ids.add(rule_id)
        network = item.get("network")
        if not isinstance(network, str):
            problem(where, f"{label} needs a 'network'")
            ok = False
        elif network not in names and network != UNASSIGNED:
            problem(
                (*where, "network"), f"{label}: no network named '{network}'{_hint(network, names)}"
            )
            ok = False
        when = item.get("when")
        if when is None or when == {}:
            problem(
                (*where, "when"),
                f"{label}: 'when' names no condition, so it would match everyone; give it one "
                "(a catch-all is written on purpose, e.g. when = { min_interactions = 0 })",
            )
            continue
        if not isinstance(when, dict):
            problem((*where, "when"), f"{label}: 'when' must be a table of conditions")
            continue
        low, high = when.get("min_interactions"), when.get("max_interactions")
        if isinstance(low, int) and isinstance(high, int) and low > high:
            problem(
                (*where, "when", "min_interactions"),
                f"{label}: min_interactions ({low}) is above max_interactions ({high}): "
                "it can never match",
            )
            ok = False
        conditions: list[Condition] = []
        for key, value in when.items():
            try:
                conditions.append(parse_condition(key, value))
            except ConditionError as exc:
                message = str(exc)
                if key not in CONDITIONS:
                    message += _hint(key, tuple(CONDITIONS))
                problem((*where, "when", key), f"{label}: {message}")
                ok = False
        if ok and isinstance(rule_id, str) and isinstance(network, str):
            rules.append(Rule(rule_id, network, tuple(conditions), lines.line(*where)))
    ruleset = RuleSet(int(default_cadence), int(due_soon), tuple(networks), tuple(rules))
    return ruleset, problems


def default_text() -> str:
    """The networks file `netgarden init` writes: the strategy's six networks, example rules."""
    return resources.files("rules").joinpath(DEFAULT_FILE).read_text(encoding="utf-8")


def load_rules(path: Path) -> RuleSet:
    """The networks file at `path` (the bundled default when it does not exist).

    RulesError lists every problem of a bad file.
    """
    if path.exists():
        try:
            text = read_settings(path)
        except (OSError, ValueError) as exc:
            raise RulesError(path, [f"cannot read: {exc}"]) from None
    else:
        text = default_text()
    ruleset, problems = parse_rules(text)
    if problems or ruleset is None:
        raise RulesError(path, problems)
    return ruleset
