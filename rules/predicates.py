"""The conditions a rule may use: a closed set, each parsed and checked up front (no eval).

A condition tests one person as of a date and returns the reason it holds, or None. The reasons
are what `classify --explain` shows.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import Any

import re2

from pipeline.model import SOURCES, History, Person
from pipeline.normalize import email_domain
from pipeline.strength import DEFAULT as DEFAULT_LADDER
from pipeline.strength import Ladder, strength

#: The largest number a count or a number of days may be (a hundred years of days).
MAX_NUMBER = 36_500
#: RE2 refuses repetitions above 1000; one written larger is a mistake, not a literal.
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")
_RE2 = re2.Options()
_RE2.case_sensitive = False
_RE2.log_errors = False  # the message goes into the problem, not onto stderr


class ConditionError(ValueError):
    """A condition's value has the wrong type or is not valid (a bad regular expression)."""


@dataclass(frozen=True)
class Context:
    """What a condition may know besides the person: the report date and the user's zone."""

    as_of: date
    tz: tzinfo
    ladder: Ladder = DEFAULT_LADDER

    @cached_property
    def end(self) -> datetime:
        """The last instant of `as_of` in the user's zone; later exchanges do not count yet."""
        start = datetime.combine(self.as_of + timedelta(days=1), time(0), tzinfo=self.tz)
        return start.astimezone(UTC)  # as stored instants are: comparing them is cheap


@dataclass(frozen=True)
class Condition:
    """One `key = value` of a rule's `when`, ready to test."""

    key: str
    values: tuple[str, ...]
    #: Compiled RE2 expressions: matching takes time linear in the text, whatever the pattern
    #: (a backtracking engine takes minutes on `(a+)+$` against a long name).
    patterns: tuple[Any, ...]
    number: int
    test: Callable[[Condition, Person, Context], str | None]

    def __call__(self, person: Person, context: Context) -> str | None:
        return self.test(self, person, context)


def _strings(key: str, value: object) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise ConditionError(f"'{key}' takes a string or a non-empty list of strings")
    return tuple(str(v) for v in items)


def _number(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_NUMBER:
        raise ConditionError(f"'{key}' takes a whole number from 0 to {MAX_NUMBER:,}")
    return value


def compile_pattern(key: str, text: str) -> Any:
    """A rule's regular expression, case-insensitive, in RE2's syntax (no backreferences or
    lookaround: what cannot be matched in linear time is refused)."""
    for match in _REPEAT.finditer(text):
        if any(part and int(part) > 1000 for part in match.groups()):
            raise ConditionError(
                f"'{key}': bad regular expression {text!r}: a repetition above 1000"
            )
    try:
        return re2.compile(text, _RE2)
    except Exception as exc:  # re2.error, with bytes for a message
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise ConditionError(f"'{key}': bad regular expression {text!r}: {reason}") from None


def _first_match(patterns: tuple[Any, ...], texts: tuple[str, ...]) -> tuple[str, str] | None:
    for text in texts:
        for pattern in patterns:
            if pattern.search(text):
                return pattern.pattern, text
    return None


def _regex_test(
    what: str, get: Callable[[Person], tuple[str, ...]]
) -> Callable[[Condition, Person, Context], str | None]:
    def test(cond: Condition, person: Person, context: Context) -> str | None:
        hit = _first_match(cond.patterns, get(person))
        return None if hit is None else f"{what} {hit[1]!r} matches /{hit[0]}/"

    return test


def _email_domain(cond: Condition, person: Person, context: Context) -> str | None:
    for email in person.emails:
        domain = email_domain(email)
        for wanted in cond.values:
            if domain == wanted or domain.endswith("." + wanted):
                return f"e-mail {email} is at {wanted}"
    return None


def _email(cond: Condition, person: Person, context: Context) -> str | None:
    for email in person.emails:
        if email in cond.values:
            return f"e-mail is {email}"
    return None


def _label(cond: Condition, person: Person, context: Context) -> str | None:
    if not person.labels:
        return None
    labels = {label.casefold(): label for label in person.labels}
    for wanted in cond.values:
        if wanted.casefold() in labels:
            return f"has label {labels[wanted.casefold()]!r}"
    return None


def _source(cond: Condition, person: Person, context: Context) -> str | None:
    for wanted in cond.values:
        if wanted in person.sources:
            return f"comes from {wanted}"
    return None


def _history(person: Person, context: Context) -> History:
    """The person's exchanges as of the report date (later ones do not count)."""
    history = person.history
    last = history.last
    end = context.end
    if last is None or last.at < end:  # the common case, without a call
        return history
    found = history.until(end)
    if found is None:  # the store gives histories that reach the report date
        raise ValueError(f"the history of {person.name} does not reach back to {context.as_of}")
    return found


def _counted(person: Person, context: Context) -> int:
    return _history(person, context).total


def _min_interactions(cond: Condition, person: Person, context: Context) -> str | None:
    count = _counted(person, context)
    return f"{count} exchanges (at least {cond.number})" if count >= cond.number else None


def _max_interactions(cond: Condition, person: Person, context: Context) -> str | None:
    count = _counted(person, context)
    return f"{count} exchanges (at most {cond.number})" if count <= cond.number else None


def _last_day(person: Person, context: Context) -> date | None:
    last = _history(person, context).last
    return last.at.astimezone(context.tz).date() if last is not None else None


def _within(cond: Condition, person: Person, context: Context) -> str | None:
    last = _last_day(person, context)
    if last is None:
        return None
    days = (context.as_of - last).days
    return f"last exchange {days} days ago (within {cond.number})" if days <= cond.number else None


def _not_within(cond: Condition, person: Person, context: Context) -> str | None:
    last = _last_day(person, context)
    if last is None:
        return f"no exchange at all (none within {cond.number} days)"
    days = (context.as_of - last).days
    return (
        f"last exchange {days} days ago (none within {cond.number})" if days > cond.number else None
    )


def _channel(cond: Condition, person: Person, context: Context) -> str | None:
    used = _history(person, context).channel_names
    for wanted in cond.values:
        if wanted.lower() in used:
            return f"has exchanges by {wanted}"
    return None


def _strength_at_least(cond: Condition, person: Person, context: Context) -> str | None:
    found = strength(_history(person, context), context.end, context.ladder)
    return f"strength {found} (at least {cond.number})" if found >= cond.number else None


def _strength_below(cond: Condition, person: Person, context: Context) -> str | None:
    found = strength(_history(person, context), context.end, context.ladder)
    return f"strength {found} (below {cond.number})" if found < cond.number else None


_TEXT: dict[str, tuple[str, Callable[[Person], tuple[str, ...]]]] = {
    "name": ("name", lambda p: (p.name,)),
    "organization": ("organization", lambda p: p.organizations),
    "title": ("title", lambda p: p.titles),
    "note": ("note", lambda p: p.notes),
}
_LISTS: dict[str, Callable[[Condition, Person, Context], str | None]] = {
    "email_domain": _email_domain,
    "email": _email,
    "label": _label,
    "source": _source,
    "channel": _channel,
}
_NUMBERS: dict[str, Callable[[Condition, Person, Context], str | None]] = {
    "min_interactions": _min_interactions,
    "max_interactions": _max_interactions,
    "any_interaction_within_days": _within,
    "no_interaction_within_days": _not_within,
    "strength_at_least": _strength_at_least,
    "strength_below": _strength_below,
}

#: Every condition key a rule may use, with what it means (for `rules check` and the docs).
CONDITIONS: dict[str, str] = {
    "email_domain": "an e-mail at one of these domains (a subdomain matches too)",
    "email": "one of these e-mail addresses",
    "name": "the name matches one of these regular expressions (case-insensitive)",
    "organization": "an organization matches one of these regular expressions",
    "title": "a job title matches one of these regular expressions",
    "note": "a note matches one of these regular expressions",
    "label": "one of these labels or categories (case-insensitive)",
    "source": "records from one of these sources (vcard, google_csv, linkedin, ...)",
    "channel": "at least one exchange on one of these channels (email, call, linkedin, ...)",
    "min_interactions": "at least this many exchanges",
    "max_interactions": "at most this many exchanges",
    "any_interaction_within_days": "an exchange within this many days of the report date",
    "no_interaction_within_days": "no exchange within this many days of the report date",
    "strength_at_least": "a relationship strength (0-100, see the README) of at least this",
    "strength_below": "a relationship strength (0-100) below this",
}


def _hint(word: str, choices: tuple[str, ...]) -> str:
    match = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{match[0]}'?)" if match else ""


def parse_condition(key: str, value: object) -> Condition:
    """Build the condition `key = value`; ConditionError says what is wrong with it."""
    if key in _TEXT:
        what, get = _TEXT[key]
        texts = _strings(key, value)
        patterns = tuple(compile_pattern(key, text) for text in texts)
        return Condition(key, texts, patterns, 0, _regex_test(what, get))
    if key in _LISTS:
        texts = _strings(key, value)
        if key in ("email_domain", "email", "source", "channel"):
            texts = tuple(t.strip().lower().lstrip("@") for t in texts)
        if key == "source":
            unknown = [t for t in texts if t not in SOURCES]
            if unknown:
                raise ConditionError(
                    f"'source': no source is called {unknown[0]!r}"
                    f"{_hint(unknown[0], SOURCES)}; sources: {', '.join(SOURCES)}"
                )
        return Condition(key, texts, (), 0, _LISTS[key])
    if key in _NUMBERS:
        number = _number(key, value)
        if key.startswith("strength") and number > 100:
            raise ConditionError(f"'{key}' takes a strength from 0 to 100")
        return Condition(key, (), (), number, _NUMBERS[key])
    raise ConditionError(f"unknown condition '{key}'")
