"""Where keys sit in a TOML text, so that a problem can name its line (tomllib keeps none)."""

from __future__ import annotations

import re

_KEY_LINE = re.compile(r'^\s*("[^"]*"|[A-Za-z0-9_-]+)\s*=')
_INLINE_KEY = re.compile(r'[{,]\s*("[^"]*"|[A-Za-z0-9_-]+)\s*=')
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?")


class TomlLines:
    """Where keys sit in a TOML text, by path: `("rules", "0", "when", "label")`.

    This follows table headers and `key =` lines, which is all netgarden's files use (arrays
    of tables, inline tables, `[rules.when]` tables).
    """

    def __init__(self, text: str) -> None:
        self.where: dict[tuple[str, ...], int] = {}
        counts: dict[str, int] = {}
        section: tuple[str, ...] = ()
        for number, line in enumerate(text.splitlines(), start=1):
            header = _HEADER.match(line)
            if header:
                brackets, name = header.groups()
                parts = name.split(".")
                if brackets == "[[":
                    index = counts.get(name, 0)
                    counts[name] = index + 1
                    section = (*parts[:-1], parts[-1], str(index))
                else:
                    head = parts[0]
                    index = counts.get(head, 1) - 1
                    section = (head, str(index), *parts[1:]) if head in counts else tuple(parts)
                self.where.setdefault(section, number)
                continue
            key = _KEY_LINE.match(line)
            if key:
                name = key.group(1).strip('"')
                self.where.setdefault((*section, name), number)
                rest = line[key.end() :]
                for inner in _INLINE_KEY.finditer(rest):
                    self.where.setdefault((*section, name, inner.group(1).strip('"')), number)

    def line(self, *path: str) -> int:
        """The line of `path`, else of its nearest enclosing key or table; 0 if unknown."""
        for end in range(len(path), 0, -1):
            found = self.where.get(tuple(path[:end]))
            if found:
                return found
        return 0
