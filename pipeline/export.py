"""Writers for tables a person opens: CSV for spreadsheets, Markdown, HTML.

Every cell is written as text a spreadsheet shows as it is: whole numbers without `.0`, missing
values empty, and a cell that begins like a formula (`=`, `+`, `-`, `@`, tab, CR) prefixed with
`'` so that a spreadsheet never runs it.
"""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.cells import FORMULA_STARTS, neutralize
from pipeline.files import keep_previous, write_private

if TYPE_CHECKING:  # a CSV report is written from rows, without loading pandas
    import pandas as pd

# What makes text in a table cell more than text: emphasis, code, links and images, table bars,
# strike-through (HTML is made entities first).
_MARKDOWN = re.compile(r"[\\`*_\[\]|~]")
# A line that starts like a formula (see pipeline.cells), in a column's cells joined by lines.
_FORMULA_START = re.compile("^[" + re.escape("".join(FORMULA_STARTS)) + "]", re.MULTILINE)


def cell(value: object) -> str:
    """One value as the text of a cell."""
    if value is None or type(value).__name__ == "NAType":  # pandas.NA
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
        return f"{value:g}"
    return str(value)


def column_texts(series: pd.Series) -> list[str]:
    """A column's values as cell texts (not yet neutralized), a column at a time: a report of
    a hundred thousand people has two million cells."""
    from pandas.api.types import is_integer_dtype

    if is_integer_dtype(series.dtype):
        missing = series.isna().to_numpy()
        texts: list[str] = series.to_numpy(dtype="int64", na_value=0).astype(str).tolist()
        if missing.any():
            for i in missing.nonzero()[0].tolist():
                texts[i] = ""
        return texts
    return [v if type(v) is str else "" if v is None else cell(v) for v in series.tolist()]


def rows_of(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    """The frame's rows as tuples of cell texts (not yet neutralized)."""
    return list(zip(*(column_texts(frame[name]) for name in frame.columns), strict=True))


def neutralized(column: list[str]) -> list[str]:
    """A column's cells made safe for a spreadsheet (`neutralize`); one search of the whole
    column finds whether any cell could need it, which most columns do not."""
    if not _FORMULA_START.search("\n".join(column)):
        return column
    return [neutralize(c) for c in column]


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write a CSV atomically (a reader never sees half a file), mode 0600, formula cells
    neutralized."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([neutralize(c) for c in row] for row in rows)
    write_private(path, out.getvalue())


def rows_to_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    plain: Collection[str] = (),
) -> None:
    """`write_csv` of rows of values (text, whole numbers, None), as `frame_to_csv` writes
    them: a column at a time, the csv module turning numbers into text, only the columns that
    hold a cell a spreadsheet could run looked at cell by cell. The columns named in `plain`
    are known to hold none (whole numbers not below 0, ISO dates, netgarden's own words)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(_safe_rows(header, rows, plain))
    write_private(path, out.getvalue())


def csv_lines(
    header: Sequence[str], rows: Sequence[Sequence[object]], plain: Collection[str] = ()
) -> list[str]:
    """The line (its end included) that `rows_to_csv` writes for each of `rows`, in order.
    Neutralizing a cell that needs none leaves it as it is, so lines made a part of the rows
    at a time (each part in a process of its own) are the lines of the whole."""
    lines: list[str] = []
    writer = csv.writer(_Lines(lines))
    writer.writerows(_safe_rows(header, rows, plain))
    return lines


def lines_to_csv(path: Path, header: Sequence[str], lines: Iterable[str]) -> None:
    """`rows_to_csv` of rows already made lines (`csv_lines`)."""
    first: list[str] = []
    csv.writer(_Lines(first)).writerow(header)
    # Encoded a line at a time: one text of the whole file would hold every character in as
    # many bytes as its widest one needs (a single Cyrillic name doubles it).
    write_private(path, b"".join([line.encode("utf-8") for line in (*first, *lines)]))


class _Lines:
    """What csv.writer writes to, keeping each row's line apart (it writes a row at once)."""

    def __init__(self, lines: list[str]) -> None:
        self.write = lines.append


def _safe_rows(
    header: Sequence[str], rows: Sequence[Sequence[object]], plain: Collection[str]
) -> Iterable[Sequence[object]]:
    """The rows with the cells a spreadsheet could run neutralized (see `rows_to_csv`)."""
    looked = [i for i, name in enumerate(header) if name not in plain]
    unsafe = [i for i in looked if not _plain([row[i] for row in rows])]
    if not unsafe:  # the common case: the rows as they are, never turned into columns
        return rows
    columns: list[Sequence[object]] = list(zip(*rows, strict=True))
    for i in unsafe:
        columns[i] = [neutralize(v if type(v) is str else cell(v)) for v in columns[i]]
    return list(zip(*columns, strict=True))


def _plain(column: Sequence[object]) -> bool:
    """Whether the csv module writes a column of values as `cell` and `neutralize` would: text
    that starts like no formula, whole numbers that are not negative, None (each test runs in
    C over the whole column)."""
    kinds = set(map(type, column))
    present = filter(None, column)  # without None (and "" and 0, which are plain)
    if kinds <= {str, type(None)}:
        return not _FORMULA_START.search("\n".join(present))  # type: ignore[arg-type]
    if kinds <= {int, type(None)}:
        return min(present, default=0) >= 0  # type: ignore[type-var,operator]
    return False


def frame_to_csv(frame: pd.DataFrame, path: Path) -> None:
    """`write_csv` of a frame, a column at a time."""
    columns = [neutralized(column_texts(frame[name])) for name in frame.columns]
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([str(c) for c in frame.columns])
    writer.writerows(zip(*columns, strict=True))
    write_private(path, out.getvalue())


def frame_to_markdown(frame: pd.DataFrame) -> str:
    """A GitHub-flavoured Markdown table."""

    lines = [
        "| " + " | ".join(str(c) for c in frame.columns) + " |",  # netgarden's own names
        "|" + "|".join(" --- " for _ in frame.columns) + "|",
    ]
    lines += ["| " + " | ".join(markdown_text(c) for c in row) + " |" for row in rows_of(frame)]
    return "\n".join(lines) + "\n"


def frame_to_html(frame: pd.DataFrame, title: str) -> str:
    """A standalone HTML page holding the table."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n"
        for row in rows_of(frame)
    )
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:left}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>\n<table><thead><tr>{head}</tr></thead><tbody>\n"
        f"{body}</tbody></table></body></html>\n"
    )


def markdown_text(text: str) -> str:
    """A value as Markdown shows it and never runs it: HTML (`<script>`, `<img onerror>`) as
    entities, Markdown's own marks (emphasis, links, code, table bars) escaped, one line."""
    text = html.escape(text, quote=False).replace("\n", " ").replace("\r", " ")
    return _MARKDOWN.sub(r"\\\g<0>", text)


def write_report_csv(
    folder: Path,
    staleness: Iterable[str],
    summary: Sequence[Sequence[object]],
    trend: Sequence[Sequence[object]],
) -> list[Path]:
    """The report's CSV files: staleness.csv from the lines of its rows (`csv_lines`; the file
    before kept as staleness.previous.csv), networks.csv and trend.csv (a row per run and
    network). Each is replaced atomically."""
    from pipeline.report import NETWORK_COLUMNS, STALENESS_COLUMNS
    from pipeline.runlog import TREND_COLUMNS

    written = [folder / "staleness.csv", folder / "networks.csv", folder / "trend.csv"]
    keep_previous(written[0], folder / "staleness.previous.csv")
    lines_to_csv(written[0], STALENESS_COLUMNS, staleness)
    rows_to_csv(written[1], NETWORK_COLUMNS, summary)
    rows_to_csv(written[2], TREND_COLUMNS, trend)
    return written


def write_text(path: Path, text: str) -> None:
    """Write a report file atomically, mode 0600 (it holds people's names and addresses)."""
    write_private(path, text)
