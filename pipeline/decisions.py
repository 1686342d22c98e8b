"""The user's decisions, written into the overrides file: a network (or `ignore`) for a person,
under the key that names them, one line a person.

The file stays the user's: comments, order and every other line are kept (tomlkit edits it in
place). A new line goes under `[overrides]` when the file has that table, else at the top. A
decision about someone named there already by another of their handles replaces that line, so
a person is never sent two ways.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import RulesError
from pipeline.files import read_settings, write_private
from pipeline.model import Person
from rules.overrides import TABLE, Overrides, key_of


@dataclass(frozen=True)
class Change:
    """One decision as written: the person, the key, its value before and after (None: no such
    line), and the lines about the same person it replaced (key, value)."""

    person: Person
    key: str
    before: str | None
    after: str | None
    replaced: tuple[tuple[str, str], ...] = ()

    @property
    def changed(self) -> bool:
        return self.before != self.after or bool(self.replaced)


class Undecidable(RulesError):
    """A person with nothing to name them by in the overrides file (no e-mail, profile, phone)."""


def decide(
    path: Path,
    choices: Iterable[tuple[Person, str | None]],
    overrides: Overrides,
    *,
    dry_run: bool = False,
) -> list[Change]:
    """Write each (person, network, `ignore`, or None to forget the decision) into the file at
    `path`; the changes, in order (those that change nothing included). With `dry_run`,
    nothing is written."""
    document, container = _open(path)
    changes: list[Change] = []
    for person, choice in choices:
        key = key_of(person)
        if key is None:
            raise Undecidable(path, [f"{person.name} has no e-mail, profile or phone to name"])
        replaced: list[tuple[str, str]] = []
        before: str | None = None
        for decision in overrides.all_of(person):
            holder = _holder(document, decision.key)
            if holder is None:
                continue
            if decision.key == key:
                before = str(holder[decision.key])
                continue
            replaced.append((decision.key, str(holder[decision.key])))
            del holder[decision.key]
        holder = _holder(document, key)
        if before is None and holder is not None:
            before = str(holder[key])
        if choice is None:
            if holder is not None:
                del holder[key]
        elif holder is not None:
            holder[key] = choice
        else:
            container[key] = choice
        changes.append(Change(person, key, before, choice, tuple(replaced)))
    if not dry_run and any(c.changed for c in changes):
        _save(path, document)
    return changes


def undo(path: Path, change: Change) -> None:
    """Put back what one decision replaced (its line as it was, and the lines it removed)."""
    document, container = _open(path)
    holder = _holder(document, change.key)
    if change.before is None:
        if holder is not None:
            del holder[change.key]
    else:
        (holder if holder is not None else container)[change.key] = change.before
    for key, value in change.replaced:
        container[key] = value
    _save(path, document)


def _open(path: Path) -> tuple[Any, Any]:
    """The file as a tomlkit document, and where a new line goes."""
    import tomlkit

    try:
        text = read_settings(path) if path.exists() else ""
        document = tomlkit.parse(text)
    except (OSError, ValueError) as exc:
        raise RulesError(path, [f"cannot read: {exc}"]) from None
    table = document.get(TABLE)
    return document, (table if isinstance(table, dict) else document)


def _holder(document: Any, key: str) -> Any:
    """The table holding `key` (the top of the file or `[overrides]`), if any."""
    if key in document and not isinstance(document[key], dict):
        return document
    table = document.get(TABLE)
    if isinstance(table, dict) and key in table:
        return table
    return None


def _save(path: Path, document: Any) -> None:
    import tomlkit

    write_private(path, tomlkit.dumps(document))
