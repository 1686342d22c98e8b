"""vCard 2.1, 3.0 and 4.0 files: one file of many cards, as phones and address books export them.

The tokenizer is written here by hand rather than taken from vobject, for three reasons measured
on real exports (see ../shared/corpus/vcard and bench/):
- vobject stops at the first bad PHOTO and loses every later card of the file; here a card is
  parsed on its own, and an unreadable value costs that value, not the card or the file.
- vobject cuts FN and NOTE at unescaped commas (written by vCard 2.1 and Gmail), keeps `\\:` in
  URLs and guesses charsets; here each wanted value is decoded as UTF-8, then its declared CHARSET,
  then the configured Windows code page.
- vobject builds a full object tree for every property, photos included, and reads about 1,200
  cards/s here. This reads the file as bytes in blocks, finds cards and the wanted properties
  with regular expressions (no Python code runs per line), decodes only what a contact needs,
  and parses a large file on two cores (see docs/PERFORMANCE.md).

Cards with nested vCards, and files in UTF-16 or with lone-CR line ends, are read line by line
(`_card_lines`), which handles every case exactly but slowly.
"""

from __future__ import annotations

import binascii
import io
import marshal
import os
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, Literal, NamedTuple

from connectors.base import FileConnector, ReadOptions, bulk_allocation
from connectors.keys import KeyMaker, base_key
from connectors.textcodec import bom_encoding, decode, head_text
from connectors.workers import pool as worker_pool
from pipeline.errors import FormatError
from pipeline.model import (
    Contact,
    ContactRow,
    Contacts,
    HandleKind,
    Problem,
    Record,
    Skipped,
    fields_digest,
    unpacked_contact,
)
from pipeline.normalize import (
    display_name,
    email_in_text,
    join_name,
    normalize_email,
    normalize_phone,
    normalize_url,
    phone_note,
)

# A property line starts with a name (optionally group-prefixed) followed by ';' or ':'.
# Base64 data never contains ':' or ';', so its lines never match.
_PROPERTY_RE = re.compile(rb"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*[ \t]*[;:]")
_CHARSET_RE = re.compile(rb"CHARSET=\"?([A-Za-z0-9_.:-]+)", re.IGNORECASE)

# Properties a contact is built from; every other property is skipped without being decoded.
_WANTED = frozenset(
    {
        b"FN",
        b"N",
        b"ORG",
        b"TITLE",
        b"EMAIL",
        b"TEL",
        b"URL",
        b"CATEGORIES",
        b"NOTE",
        b"UID",
        b"KIND",
        b"X-ADDRESSBOOKSERVER-KIND",
    }
)
_GROUP_KINDS = frozenset({"group"})
_STRAY = "lines outside any card"


class _Card:
    """The wanted properties of one card while it is being read. An `orphan` holds lines of
    properties found outside any card (a card whose BEGIN:VCARD line is damaged)."""

    __slots__ = ("line", "orphan", "props", "raw")

    def __init__(self, line: int, *, orphan: bool = False) -> None:
        self.line = line
        self.orphan = orphan
        self.props: list[tuple[bytes, bytes, bytes]] = []
        self.raw: list[bytes] = []

    def text(self) -> str:
        """The card as written, for the quarantine."""
        return b"\n".join(r.rstrip(b"\r\n") for r in self.raw).decode("utf-8", errors="replace")


class _Pending:
    """A property whose value may continue on the next lines (folding, QP soft breaks, base64)."""

    __slots__ = ("b64", "name", "params", "parts", "qp", "wanted")

    def __init__(self, name: bytes, params: bytes, first: bytes, wanted: bool) -> None:
        upper = params.upper()
        self.name = name
        self.params = params
        self.parts = [first]
        self.wanted = wanted
        self.qp = b"QUOTED-PRINTABLE" in upper
        self.b64 = b"BASE64" in upper or b"ENCODING=B" in upper


def physical_lines(stream: BinaryIO) -> Iterator[bytes]:
    """The file's lines without terminators: LF, CRLF, CR CR LF (iPhone) and lone CR alike.

    A UTF-16 or UTF-32 file (byte-order mark) is transcoded to UTF-8 on the fly.
    """
    head = stream.peek(2048)[:2048] if hasattr(stream, "peek") else b""
    encoding = bom_encoding(head)
    source: Iterable[bytes]
    if encoding and encoding != "utf-8-sig":
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        source = (line.encode("utf-8") for line in text)
    else:
        if encoding == "utf-8-sig":
            stream.read(3)
        source = stream
    for raw in source:
        line = raw.rstrip(b"\r\n")
        if b"\r" in line:
            yield from line.split(b"\r")
        else:
            yield line


def _split_property(line: bytes) -> tuple[bytes, bytes, bytes]:
    """NAME (upper, group dropped), raw parameters and raw value of one unfolded line."""
    colon = line.find(b":")
    quote = line.find(b'"')
    if 0 <= quote < colon:
        # A quoted parameter value may hold ':'; find the first colon outside quotes.
        inside = False
        for i, byte in enumerate(line):
            if byte == 34:
                inside = not inside
            elif byte == 58 and not inside:
                colon = i
                break
    if colon < 0:
        colon = len(line)
    head = line[:colon]
    value = line[colon + 1 :]
    semi = head.find(b";")
    if semi >= 0:
        name, params = head[:semi], head[semi + 1 :]
    else:
        name, params = head, b""
    name = name.strip().upper()
    if b"." in name:
        name = name.rpartition(b".")[2]
    return name, params, value


def _split_unescaped(text: str, sep: str) -> list[str]:
    """Split on `sep` where it is not escaped by a backslash (escapes are kept for later)."""
    if "\\" not in text:
        return text.split(sep)
    # Park escaped backslashes and separators, split, then put them back (all in C).
    parked = text.replace("\\\\", "\x00").replace("\\" + sep, "\x01")
    return [p.replace("\x01", "\\" + sep).replace("\x00", "\\\\") for p in parked.split(sep)]


def _unescape(text: str) -> str:
    """Undo vCard's escapes (backslash before \\, n, N, comma, semicolon, colon); any other
    backslash stays as written."""
    if "\\" not in text:
        return text
    # Chained replaces run in C; a regular expression with a Python callback per escape was
    # a tenth of the import time on notes full of commas.
    return (
        text.replace("\\\\", "\x00")
        .replace("\\n", "\n")
        .replace("\\N", "\n")
        .replace("\\,", ",")
        .replace("\\;", ";")
        .replace("\\:", ":")
        .replace("\x00", "\\")
    )


_BLOCK = 1 << 21
#: Files at least this large are parsed by worker processes, one block each.
_PARALLEL_BYTES = 6 * _BLOCK
_WORKERS = 2
# Card boundaries and the wanted properties are found by regular expressions that start with a
# literal newline, which the regex engine scans for at C speed (a `^` anchor would be tried at
# every byte). Blocks are therefore searched with a newline prepended.
# A line that starts with white space continues the previous one, so markers start the line;
# trailing spaces after VCARD occur in real files and are allowed.
_MARKER_RE = re.compile(rb"\n((?i:BEGIN|END)):(?i:VCARD)[ \t]*\r*(?=\n)")
_END_RE = re.compile(rb"\n(?i:END):(?i:VCARD)[ \t]*\r*\n")
# An AGENT property with no value on its line: the nested vCard follows (2.1).
_AGENT_RE = re.compile(rb"(?:[A-Za-z0-9_-]{1,20}\.)?(?i:AGENT)(?:;[^:\n]*)?:[ \t]*\r*")
# A group prefix (Apple's `item1.`) is bounded in length: an unbounded one made the engine scan
# every long line (photos) to its end looking for a dot, doubling the cost of this search.
_NAMES = rb"FN|N|ORG|TITLE|EMAIL|TEL|URL|CATEGORIES|NOTE|UID|KIND|X-ADDRESSBOOKSERVER-KIND"
# Only the names ignore case: a global IGNORECASE made the engine fold the case of every byte
# of every value it walks.
_PROPS_RE = re.compile(
    rb"\n(?:((?i:" + _NAMES + rb"))|[A-Za-z0-9_-]{1,20}\.((?i:" + _NAMES + rb")))"
    # A fold may come before the `;` or `:` (never, in any writer seen, inside the name).
    # `.*` (to the line's end) is a tight loop in the regex engine; `[^\r\n]*` tested a
    # character set per byte and cost three times as much. A CR it leaves at the end is
    # stripped with the value.
    rb"(?:[ \t]|\r?\n[ \t])*([;:].*"
    # The lines that continue it (folded: a line end and a space or tab): a card is not
    # unfolded as a whole, which cost four copies of every card (photos included) for the few
    # values that are folded.
    rb"(?:\n[ \t].*)*)"
)
_QP_PROP_RE = re.compile(rb"^[^:\n]*QUOTED-PRINTABLE[^:\n]*:", re.IGNORECASE)


def _split_lines(data: bytes) -> Iterator[bytes]:
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if b"\r" in line:
            yield from line.split(b"\r")
        else:
            yield line


def _last_end(block: bytes) -> int:
    """The offset just after the last complete END:VCARD line of `block` (0 if none)."""
    text = b"\n" + block
    last = 0
    for match in _END_RE.finditer(text, max(0, len(text) - (1 << 16))):
        last = match.end() - 1
    if last == 0 and len(text) > (1 << 16):
        for match in _END_RE.finditer(text):
            last = match.end() - 1
    return last


def _opens_agent(text: bytes, newline: int) -> bool:
    """Whether the line that ends at `newline` (before a BEGIN:VCARD) is an empty AGENT
    property: the only place a vCard nests another one (2.1)."""
    start = text.rfind(b"\n", 0, newline) + 1
    return _AGENT_RE.fullmatch(text, start, newline) is not None


def _orphan(text: bytes, begin: int, end: int, line_at: Callable[[int], int]) -> _Card | None:
    """The lines between cards (from the newline at `begin` to `end`), when they hold
    properties a contact is made of (a card whose BEGIN:VCARD line is damaged): kept for the
    quarantine, never dropped in silence."""
    if _PROPS_RE.search(text, begin, end) is None:
        return None
    first = begin + 1
    while first < end and text[first] in b"\r\n \t":  # the first line with something on it
        first += 1
    first = text.rfind(b"\n", 0, first) + 1
    card = _Card(line_at(first), orphan=True)
    card.raw.append(text[first:end].rstrip(b"\r\n"))
    return card


def _block_cards(block: bytes, first_line: int) -> Iterator[tuple[_Card, bool]]:
    """The cards of a block that ends after an END:VCARD line; `first_line` is its line.

    A BEGIN:VCARD inside a card that is not an AGENT's ends that card, cut short (it lacked its
    END:VCARD: a cut line, a typo): every card after it is still read. Properties outside any
    card come out as an orphan."""
    text = b"\n" + block
    depth = 0
    start = 0
    nested = False
    outside = 0  # the newline before the text between cards
    lineno = first_line
    counted = 1

    def line_at(position: int) -> int:
        """The line of the line that starts at `position` (positions only grow)."""
        nonlocal lineno, counted
        lineno += text.count(b"\n", counted, position)
        counted = position
        return lineno

    for match in _MARKER_RE.finditer(text):
        if match.group(1).upper() == b"BEGIN":
            if depth and _opens_agent(text, match.start()):
                nested = True
                depth += 1
                continue
            if depth:
                cut = _plain_card(text[start : match.start()], line_at(start))
                yield cut, False
            else:
                orphan = _orphan(text, outside, match.start(), line_at)
                if orphan is not None:
                    yield orphan, False
            start = match.start() + 1
            nested = False
            depth = 1
        elif depth:
            depth -= 1
            if depth:
                continue
            data = text[start : match.end()]
            outside = match.end()
            if nested:
                yield from _card_lines(_split_lines(data), line_at(start))
            else:
                yield _plain_card(data, line_at(start)), True
        else:
            # An END:VCARD outside any card: the card's BEGIN:VCARD line is damaged.
            orphan = _orphan(text, outside, match.end(), line_at)
            if orphan is not None:
                yield orphan, False
            outside = match.end()
    if depth:
        yield _plain_card(text[start:], line_at(start)), False


def _join_soft_breaks(data: bytes) -> bytes:
    """Join the quoted-printable soft line breaks (`=` at a line's end) of QP values."""
    lines = data.split(b"\n")
    out: list[bytes] = []
    joining = False
    for line in lines:
        stripped = line.rstrip(b"\r")
        if joining:
            out[-1] += stripped[:-1] if stripped.endswith(b"=") else stripped
            joining = stripped.endswith(b"=")
            continue
        if stripped.endswith(b"=") and _QP_PROP_RE.match(stripped):
            out.append(stripped[:-1])
            joining = True
        else:
            out.append(line)
    return b"\n".join(out)


def _unfold(value: bytes) -> bytes:
    """A folded value's lines joined (a line end then one space or tab is removed)."""
    value = value.replace(b"\r\n ", b"")  # nearly every fold
    if value.find(b"\n") < 0:
        return value
    return value.replace(b"\r\n\t", b"").replace(b"\n ", b"").replace(b"\n\t", b"")


def _plain_card(data: bytes, lineno: int) -> _Card:
    """A card with no nested card: its wanted properties picked out in one pass, unfolded."""
    card = _Card(lineno)
    card.raw.append(data)
    # bytes.find, not `in`, on this hot path: CPython 3.11's bytes `in` first tries the operand
    # as an integer and raises and clears a TypeError each time (4% of a large import).
    if data.find(b"\r\r") >= 0:
        data = data.replace(b"\r\r\n", b"\r\n")  # iPhone's CR CR LF
    if data.find(b"UOTED-PRINTABLE") >= 0 or data.find(b"uoted-printable") >= 0:
        data = _join_soft_breaks(data)
    props = card.props
    for plain, grouped, rest in _PROPS_RE.findall(b"\n" + data):
        name = plain or grouped
        if rest.find(b"\n") >= 0:
            rest = _unfold(rest)
        if rest[0] == 58:  # ':' at once: no parameters
            props.append((name.upper(), b"", rest[1:]))
            continue
        colon = rest.find(b":")
        if colon < 0 or rest.find(b'"', 0, colon) >= 0:
            # No value, or a quoted parameter that may hold ':': the careful split.
            _, params, value = _split_property(b"X" + rest)
        else:
            params, value = rest[1:colon], rest[colon + 1 :]
        props.append((name.upper(), params, value))
    return card


def _card_lines(lines: Iterable[bytes], first_line: int) -> Iterator[tuple[_Card, bool]]:
    """Cards read line by line: folding, QP soft breaks, nested cards, comments, base64.

    As in `_block_cards`, a BEGIN:VCARD that no AGENT opens ends a card cut short, and
    properties outside any card come out as an orphan."""
    card: _Card | None = None
    depth = 0
    pending: _Pending | None = None
    lineno = first_line - 1
    stray: list[bytes] = []
    stray_line = 0
    for line in lines:
        lineno += 1
        if card is None:
            upper = line[:11].upper()
            if upper == b"BEGIN:VCARD" and not line[11:].strip():
                yield from _stray(stray, stray_line)
                stray = []
                card = _Card(lineno)
                card.raw.append(line)
            elif upper[:9] == b"END:VCARD" and not line[9:].strip():
                stray.append(line)
                yield from _stray(stray, stray_line)
                stray = []
            elif line.strip():
                if not stray:
                    stray_line = lineno
                stray.append(line)
            continue
        card.raw.append(line)
        if not line:
            if pending is not None and pending.qp and pending.parts[-1].endswith(b"="):
                # A soft line break followed by an empty line: the value ends here.
                pending.parts[-1] = pending.parts[-1][:-1]
            continue
        if depth:
            # Inside a vCard nested in this one (2.1 AGENT): it describes someone else and
            # is part of this card, not a contact of its own.
            upper = line.upper()
            if upper.startswith(b"BEGIN:VCARD"):
                depth += 1
            elif upper.startswith(b"END:VCARD"):
                depth -= 1
            continue
        first = line[0]
        if first == 32 or first == 9:
            if pending is not None and pending.wanted:
                pending.parts.append(line[1:])
            continue
        if pending is not None and pending.qp and pending.parts[-1].endswith(b"="):
            # Quoted-printable soft line break: the value goes on, whatever the line holds.
            if pending.wanted:
                pending.parts[-1] = pending.parts[-1][:-1]
                pending.parts.append(line)
            else:
                pending.parts[-1] = line
            continue
        if _PROPERTY_RE.match(line) is None:
            # Base64 data of a 2.1 PHOTO without indentation, a '#' comment, or garbage:
            # none of it is part of a value this importer uses.
            continue
        agent = pending is not None and pending.name == b"AGENT" and not b"".join(pending.parts)
        if pending is not None and pending.wanted:
            card.props.append((pending.name, pending.params, b"".join(pending.parts)))
        pending = None
        name, params, value = _split_property(line)
        if name == b"BEGIN" and value.strip().upper() == b"VCARD":
            if agent:
                depth = 1
                continue
            # No END:VCARD before this card: the one before was cut short.
            card.raw.pop()
            yield card, False
            card = _Card(lineno)
            card.raw.append(line)
            continue
        if name == b"END" and value.strip().upper() == b"VCARD":
            yield card, True
            card = None
            continue
        pending = _Pending(name, params, value, name in _WANTED)
    if card is not None:
        if pending is not None and pending.wanted:
            card.props.append((pending.name, pending.params, b"".join(pending.parts)))
        yield card, False
    yield from _stray(stray, stray_line)


def _stray(lines: list[bytes], lineno: int) -> Iterator[tuple[_Card, bool]]:
    """Lines read outside any card, as an orphan when they hold wanted properties."""
    for line in lines:
        found = _PROPERTY_RE.match(line)
        if found is not None and _split_property(line)[0] in _WANTED:
            orphan = _Card(lineno, orphan=True)
            orphan.raw.extend(lines)
            yield orphan, False
            return


class _Run(NamedTuple):
    """A part of the file: `kind` "block" (whole cards, found by their marker lines) or
    "lines" (a rest that must be read line by line: a cut-short last card, a file in UTF-16
    or with lone-CR line ends); `line` is the line its first byte is on, `offset` where in
    the file a block starts."""

    kind: Literal["block", "lines"]
    data: bytes
    line: int
    offset: int = 0


def _blocks(stream: BinaryIO) -> Iterator[_Run]:
    """The file as runs of whole cards and rests (`_Run`). No Python code runs per line of a
    block."""
    head = stream.peek(2048)[:2048] if hasattr(stream, "peek") else b""
    bom = bom_encoding(head)
    if bom and bom != "utf-8-sig":
        yield _Run("lines", b"\n".join(physical_lines(stream)), 1)
        return
    offset = 0  # where in the file `carry` starts
    if bom:
        stream.read(3)
        offset = 3
    carry = b""
    lineno = 1  # the line number of the first byte of `carry`
    while chunk := stream.read(_BLOCK):
        block = carry + chunk
        if b"\n" not in block and b"\r" in block:
            # Old Mac files end lines with a lone CR.
            rest = block + stream.read()
            yield _Run("lines", b"\n".join(physical_lines(io.BytesIO(rest))), lineno)
            return
        cut = _last_end(block)
        if cut == 0:
            carry = block
            continue
        yield _Run("block", block[:cut], lineno, offset)
        lineno += block.count(b"\n", 0, cut)
        offset += cut
        carry = block[cut:]
    if carry.strip():
        yield _Run("lines", carry, lineno, offset)


# What a worker sends back: records as plain tuples, which pickle ten times faster than frozen
# dataclasses (measured: 9 µs against 80 µs a card, which would make the main process the
# bottleneck); contacts are passed on packed (`Contacts`), as the store keeps them.
_Packed = (
    tuple[Literal["c"], ContactRow]
    | tuple[Literal["s"], tuple[str, int]]
    | tuple[Literal["p"], tuple[int, str, str]]
)


def _unpack(packed: _Packed, source: str, file: str) -> Record:
    if packed[0] == "c":
        return unpacked_contact(source, packed[1])
    return _unpack_other(packed, file)


def _unpack_other(packed: _Packed, file: str) -> Record:
    """A Skipped or Problem."""
    if packed[0] == "s":
        reason, line = packed[1]
        return Skipped(reason, file, line)
    if packed[0] == "p":
        line, raw, why = packed[1]
        return Problem(file, line, raw, why)
    raise ValueError(f"not a Skipped or Problem: {packed[0]!r}")


def _grouped(packed: list[_Packed], source: str, file: str) -> Iterator[Record]:
    """A worker's records with each run of contacts as one `Contacts`, in order."""
    rows: list[ContactRow] = []
    for item in packed:
        if item[0] == "c":
            rows.append(item[1])
            continue
        if rows:
            yield Contacts(source, tuple(rows))
            rows = []
        yield _unpack_other(item, file)
    if rows:
        yield Contacts(source, tuple(rows))


def _unique_rows(record: Contacts, keys: KeyMaker) -> Contacts:
    """`record` with each row's key made unique in the file (`KeyMaker`)."""
    unique = keys.unique
    fixed: list[ContactRow] | None = None
    for i, row in enumerate(record.rows):
        key = unique(row[0])
        if key is not row[0]:  # KeyMaker gives a first key back as it is
            if fixed is None:
                fixed = list(record.rows)
            fixed[i] = (key, *row[1:])
    return record if fixed is None else Contacts(record.source, tuple(fixed))


def _parse_block(path: str, options: ReadOptions, offset: int, size: int, line: int) -> bytes:
    """Parse one block in a worker process (module level, so that it can be pickled): its
    records packed (`_Packed`), marshalled. marshal writes tuples of strings twice as fast as
    pickle, which keeps a memo of every object (a tenth of a worker's time), and both
    processes run the same interpreter. The worker reads the block from the file itself
    (`size` bytes at `offset`) rather than receive a copy through a pipe."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        block = handle.read(size)
    if len(block) != size or _last_end(block) != size:
        raise FormatError(path, "changed while it was being read; import it again")
    connector = VCardConnector(Path(path), options)
    with bulk_allocation():
        return marshal.dumps(
            [
                packed
                for card, complete in _block_cards(block, line)
                for packed in connector._packed(card, complete)
            ]
        )


class VCardConnector(FileConnector):
    """Reads a vCard file (2.1, 3.0, 4.0) into Contact records."""

    name = "vcard"
    description = "a vCard file (BEGIN:VCARD)"
    sniff_first = False  # the reader says "no BEGIN:VCARD found"

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        text = head_text(head, "cp1252").lstrip("\ufeff \t\r\n")
        return text[:11].upper() == "BEGIN:VCARD"

    @cached_property
    def _file(self) -> str:
        """The file's name as records give it: one string for all of them."""
        return str(self.path)

    def read_file(self) -> Iterator[Record]:
        with self.path.open("rb") as stream:
            yield from self.read(stream)

    def read(self, stream: BinaryIO) -> Iterator[Record]:
        """Yield a Contact, Skipped or Problem for every card of `stream`."""
        keys = KeyMaker()
        # Lines outside any card before the first card are held back: a file with no card at
        # all is not a vCard file, whatever property-like lines it holds.
        held: list[Record] = []
        found = False
        for record in self._records(stream):
            if isinstance(record, Contacts):
                record = _unique_rows(record, keys)
            elif isinstance(record, Contact):
                unique = keys.unique(record.source_id)
                if unique != record.source_id:
                    record = replace(record, source_id=unique)
            elif not found and isinstance(record, Problem) and record.reason.startswith(_STRAY):
                held.append(record)
                continue
            found = True
            yield from held
            held = []
            yield record
        if not found:
            raise FormatError(self.path, "no BEGIN:VCARD found: not a vCard file")

    def _records(self, stream: BinaryIO) -> Iterator[Record]:
        try:
            stat = os.fstat(stream.fileno())
            # The workers read the blocks from the file itself: only when it is what `stream`
            # reads, from its start.
            whole = stream.tell() == 0 and os.path.samestat(stat, os.stat(self.path))
            size = stat.st_size if whole else 0
        except (AttributeError, OSError, io.UnsupportedOperation):
            size = 0
        workers = min(_WORKERS, os.cpu_count() or 1)
        if size < _PARALLEL_BYTES or workers < 2:
            for card, complete in self._cards(stream):
                yield from self._to_records(card, complete)
            return
        # A large file is parsed on every core: blocks go to worker processes in file order
        # and come back in file order; a few blocks in flight keep memory bounded.
        with worker_pool(workers, ProcessPoolExecutor) as pool:
            pending: deque[Future[bytes]] = deque()
            file = self._file

            def ready() -> Iterator[Record]:
                yield from _grouped(marshal.loads(pending.popleft().result()), self.name, file)

            for kind, data, line, offset in _blocks(stream):
                if kind == "lines":
                    while pending:
                        yield from ready()
                    for card, complete in _card_lines(_split_lines(data), line):
                        yield from self._to_records(card, complete)
                    continue
                length = len(data)
                pending.append(pool.submit(_parse_block, file, self.options, offset, length, line))
                if len(pending) > workers:
                    yield from ready()
            while pending:
                yield from ready()

    def _cards(self, stream: BinaryIO) -> Iterator[tuple[_Card, bool]]:
        """Cards in file order, each with whether its END:VCARD was reached."""
        for kind, data, line, _ in _blocks(stream):
            if kind == "lines":
                yield from _card_lines(_split_lines(data), line)
            else:
                yield from _block_cards(data, line)

    def _to_records(self, card: _Card, complete: bool) -> Iterator[Record]:
        file = self._file
        for packed in self._packed(card, complete):
            yield _unpack(packed, self.name, file)

    def _packed(self, card: _Card, complete: bool) -> Iterator[_Packed]:
        """The records of one card, packed (see `_Packed`)."""
        if card.orphan:
            yield "p", (card.line, card.text(), f"{_STRAY} (a damaged BEGIN:VCARD?)")
            return
        if not complete:
            # What it holds may be cut mid-value (an address cut short): kept aside, not stored.
            yield "p", (card.line, card.text(), "card not closed by END:VCARD (cut short?)")
            return
        try:
            contact = self._contact(card)
        except Exception as exc:  # whatever a decoder raises: the card is lost, not the file
            yield "p", (card.line, card.text(), f"unreadable card: {exc}")
            return
        if isinstance(contact, str):
            yield "s", (contact, card.line)
        else:
            yield "c", contact

    def _text(self, params: bytes, value: bytes) -> str:
        """A value as text: quoted-printable undone, then UTF-8, declared CHARSET, code page."""
        charset = None
        upper = params.upper()
        if upper.find(b"QUOTED-PRINTABLE") >= 0:
            value = binascii.a2b_qp(value)
        if upper.find(b"CHARSET") >= 0:
            match = _CHARSET_RE.search(params)
            if match:
                charset = match.group(1).decode("ascii")
        return decode(value, charset, self.options.windows_codepage)

    def _contact(self, card: _Card) -> ContactRow | str:
        """The card as a Contact, or the reason it is not one."""
        fn = ""
        n_parts: list[str] = []
        org = ""
        title = ""
        uid = ""
        emails: list[str] = []
        phones: list[str] = []
        urls: list[str] = []
        labels: list[str] = []
        notes: list[str] = []
        region = self.options.default_region
        for name, params, raw in card.props:
            # Inline, not a call of _text: most parameters (TYPE=CELL) change nothing.
            if params and (
                (upper := params.upper()).find(b"QUOTED-PRINTABLE") >= 0
                or upper.find(b"CHARSET") >= 0
            ):
                text = self._text(params, raw)
            else:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    text = decode(raw, None, self.options.windows_codepage)
            escaped = "\\" in text
            # Most frequent first: a large import runs this for every property of every card.
            if name == b"TEL":
                written = _unescape(text) if escaped else text
                phone = normalize_phone(written, region)
                if phone is None:
                    note = phone_note(written)
                    if written.strip() and note not in notes:
                        notes.append(note)
                elif phone not in phones:
                    phones.append(phone)
            elif name == b"EMAIL":
                plain = (_unescape(text) if escaped else text).strip()
                email = normalize_email(plain) or email_in_text(plain)
                if email and email not in emails:
                    emails.append(email)
            elif name == b"NOTE":
                note = (_unescape(text) if escaped else text).strip()
                if note:
                    notes.append(note)
            elif name == b"N":
                if not n_parts:
                    if escaped:
                        n_parts = [_unescape(p).strip() for p in _split_unescaped(text, ";")]
                    else:
                        n_parts = [p.strip() for p in text.split(";")]
            elif name == b"FN":
                if not fn:
                    fn = (_unescape(text) if escaped else text).strip()
            elif name == b"ORG":
                if not org:
                    first = _split_unescaped(text, ";")[0] if escaped else text.split(";", 1)[0]
                    org = (_unescape(first) if escaped else first).strip()
            elif name == b"TITLE":
                if not title:
                    title = (_unescape(text) if escaped else text).strip()
            elif name == b"CATEGORIES":
                for label in _split_unescaped(text, ",") if escaped else text.split(","):
                    label = (_unescape(label) if escaped else label).strip()
                    if label and label not in labels:
                        labels.append(label)
            elif name == b"UID":
                uid = uid or text.strip()
            elif name == b"URL":
                url = normalize_url(_unescape(text) if escaped else text)
                if url and url not in urls:
                    urls.append(url)
            elif text.strip().lower() in _GROUP_KINDS:  # KIND, X-ADDRESSBOOKSERVER-KIND
                return "group card (not a person)"
        n_parts += [""] * (5 - len(n_parts))
        family, given, additional, prefix, suffix = n_parts[:5]
        structured = join_name(prefix, given, additional, family, suffix)
        name_shown = display_name(fn, structured, org, emails, phones)
        if not name_shown:
            return "card with no name, e-mail or phone"
        pairs: list[tuple[HandleKind, str]] = [("email", e) for e in emails]
        if phones:
            pairs += [("phone", p) for p in phones]
        if urls:
            pairs += [("url", u) for u in urls]
        handles = tuple(pairs)
        note = "\n".join(notes)
        label_tuple = tuple(labels)
        return (
            base_key(uid, emails, name_shown, org),
            name_shown,
            given,
            family,
            org,
            title,
            handles,
            label_tuple,
            note,
            self._file,
            card.line,
            fields_digest(name_shown, given, family, org, title, handles, label_tuple, note),
        )
