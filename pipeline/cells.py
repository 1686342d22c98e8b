"""A cell a spreadsheet opens: what makes text safe there (no pandas here: the CLI prints CSV
without loading it)."""

from __future__ import annotations

#: What a cell that a spreadsheet would run as a formula starts with.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(text: str) -> str:
    """`text` made safe for a spreadsheet cell (OWASP CSV injection): a cell that begins like a
    formula is written with a leading `'`, so a spreadsheet shows it instead of running it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
