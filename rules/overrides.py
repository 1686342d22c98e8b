"""The overrides file: the decisions a user took by hand, which win over every rule.

```toml
"jane@acme.com" = "mentors"                          # an e-mail address
"https://www.linkedin.com/in/sam-okafor" = "clients" # a profile URL (a LinkedIn connection)
"+15550100123" = "investors"                         # a phone number, in E.164
"news@shop.example" = "ignore"                       # kept out of everything, for good

[overrides]                                          # the same, under a table, also counts
"bo@example.org" = "partners"
```

A key names a person by one of their handles; the value is a network, `unassigned`, or `ignore`.
Every line counts, at the top and under `[overrides]` alike. Pure: text in, decisions out.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import RulesError
from pipeline.files import read_settings
from pipeline.model import Person
from pipeline.normalize import normalize_email, normalize_phone, normalize_url
from pipeline.tomllines import TomlLines

#: The value of a person kept out of every report, review and contact list.
IGNORE = "ignore"
TABLE = "overrides"


@dataclass(frozen=True)
class Decision:
    """One line of the file: who (`key` as written, `handle` normalized), what, and where."""

    key: str
    handle: tuple[str, str]
    network: str
    line: int


@dataclass(frozen=True)
class Overrides:
    """Every decision of the file, by the handle it names."""

    decisions: tuple[Decision, ...] = ()
    _by_handle: dict[tuple[str, str], Decision] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        for decision in self.decisions:
            self._by_handle.setdefault(decision.handle, decision)

    def __bool__(self) -> bool:
        return bool(self.decisions)

    def of(self, person: Person) -> Decision | None:
        """The decision that names this person (by an e-mail first, then a profile, then a
        phone, each in the person's own order), if any."""
        if not self._by_handle:
            return None
        for handle in _handles(person):
            found = self._by_handle.get(handle)
            if found is not None:
                return found
        return None

    def all_of(self, person: Person) -> list[Decision]:
        """Every decision that names this person (one person can be named by several)."""
        return [self._by_handle[h] for h in _handles(person) if h in self._by_handle]

    def ignores(self, person: Person) -> bool:
        found = self.of(person)
        return found is not None and found.network == IGNORE


def _handles(person: Person) -> Iterator[tuple[str, str]]:
    yield from (("email", e) for e in person.emails)
    yield from (("url", u) for u in person.urls)
    yield from (("phone", p) for p in person.phones)


def handle_of(key: str) -> tuple[str, str] | None:
    """The handle a key names: an e-mail address, a profile URL or an E.164 phone number."""
    text = key.strip()
    email = normalize_email(text)
    if email is not None:
        return ("email", email)
    if text.lower().startswith(("http://", "https://", "www.")):
        url = normalize_url(text)
        return ("url", url) if url else None
    if text.startswith("+"):
        phone = normalize_phone(text, "")
        return ("phone", phone) if phone else None
    return None


def key_of(person: Person) -> str | None:
    """The key a decision about this person is written under: their primary e-mail, else
    their first profile URL, else their first phone (None: nothing names them)."""
    for values in (person.emails, person.urls, person.phones):
        if values:
            return values[0]
    return None


def parse_overrides(text: str, networks: Iterable[str]) -> tuple[Overrides, list[str]]:
    """The decisions of an overrides file, and every problem found (each with its line)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        return Overrides(), [f"not valid TOML: {exc}"]
    lines = TomlLines(text)
    allowed = [*networks, "unassigned", IGNORE]
    problems: list[str] = []
    decisions: list[Decision] = []
    seen: dict[tuple[str, str], Decision] = {}
    entries: list[tuple[tuple[str, ...], str, object]] = []
    for key, value in data.items():
        if key == TABLE and isinstance(value, dict):
            entries += [((TABLE, inner), inner, v) for inner, v in value.items()]
        else:
            entries.append(((key,), key, value))
    for where, key, value in entries:
        number = lines.line(*where)
        at = f"line {number}: " if number else ""
        handle = handle_of(key)
        if handle is None:
            problems.append(
                f"{at}'{key}' is not an e-mail address, a profile URL or a phone number "
                "(+ and the country code)"
            )
        elif not isinstance(value, str) or value not in allowed:
            hint = _hint(value, allowed) if isinstance(value, str) else ""
            problems.append(f"{at}{key}: no network named '{value}'{hint}")
        elif handle in seen and seen[handle].network != value:
            problems.append(
                f"{at}{key}: line {seen[handle].line} already says '{seen[handle].network}' "
                f"for it, this line says '{value}'"
            )
        else:
            decision = Decision(key, handle, value, number)
            seen.setdefault(handle, decision)
            decisions.append(decision)
    return Overrides(tuple(decisions)), problems


def load_overrides(path: Path, networks: Iterable[str]) -> Overrides:
    """The overrides file at `path` (none when it does not exist); RulesError if it is bad."""
    if not path.exists():
        return Overrides()
    try:
        text = read_settings(path)
    except (OSError, ValueError) as exc:
        raise RulesError(path, [f"cannot read: {exc}"]) from None
    overrides, problems = parse_overrides(text, networks)
    if problems:
        raise RulesError(path, problems)
    return overrides


def _hint(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""
