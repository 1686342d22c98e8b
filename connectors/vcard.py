"""vCard 2.1, 3.0 and 4.0 files: one file of many cards, as phones and address books export them.

The tokenizer is written here by hand rather than taken from vobject, for three reasons measured
on real exports (see ../shared/corpus/vcard and bench/):
- vobject stops at the first bad PHOTO and loses every later card of the file; here a card is
  parsed on its own, and an unreadable value costs that value, not the card or the file.
- vobject cuts FN and NOTE at unescaped commas (written by vCard 2.1 and Gmail), keeps `\\:` in
  URLs and guesses charsets; here each wanted value is decoded as UTF-8, then its declared CHARSET,
  then the configured Windows code page.
- vobject builds a full object tree for every property, photos included, and reads about 1,100
  cards/s; this reads the file once as bytes, line by line, and decodes only the properties a
  contact needs, which is what makes the import bar of bench/ reachable.
"""

from __future__ import annotations

import binascii
import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from connectors.base import FileConnector
from connectors.keys import KeyMaker
from connectors.textcodec import bom_encoding, decode, head_text
from pipeline.errors import FormatError
from pipeline.model import Checkpoint, Contact, Handle, Problem, Record, Skipped
from pipeline.normalize import (
    display_name,
    email_in_text,
    join_name,
    normalize_email,
    normalize_phone,
    normalize_url,
)

# A property line starts with a name (optionally group-prefixed) followed by ';' or ':'.
# Base64 data never contains ':' or ';', so its lines never match.
_PROPERTY_RE = re.compile(rb"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*[ \t]*[;:]")
_CHARSET_RE = re.compile(rb"CHARSET=\"?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
# The escapes vCard defines; any other backslash is kept as written.
_ESCAPE_RE = re.compile(r"\\([\\,;:nN])")
_UNESCAPE = {"n": "\n", "N": "\n"}

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


class _Card:
    """The wanted properties of one card while it is being read."""

    __slots__ = ("line", "props", "raw")

    def __init__(self, line: int) -> None:
        self.line = line
        self.props: list[tuple[bytes, bytes, bytes]] = []
        self.raw: list[bytes] = []


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
    head = stream.peek(4)[:4] if hasattr(stream, "peek") else b""
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
    """Split on `sep` where it is not escaped by a backslash."""
    if "\\" not in text:
        return text.split(sep)
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    return _ESCAPE_RE.sub(lambda m: _UNESCAPE.get(m.group(1), m.group(1)), text)


class VCardConnector(FileConnector):
    """Reads a vCard file (2.1, 3.0, 4.0) into Contact records."""

    name = "vcard"
    description = "a vCard file (BEGIN:VCARD)"

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        text = head_text(head, "cp1252").lstrip("\ufeff \t\r\n")
        return text[:11].upper() == "BEGIN:VCARD"

    def extract(self, cursor: str | None) -> Iterator[Record]:
        digest = self.digest()
        if cursor != digest:
            with self.path.open("rb") as stream:
                yield from self.read(stream)
        yield Checkpoint(digest)

    def read(self, stream: BinaryIO) -> Iterator[Record]:
        """Yield a Contact, Skipped or Problem for every card of `stream`."""
        keys = KeyMaker()
        cards = 0
        for card, complete in self._cards(stream):
            cards += 1
            yield from self._to_records(card, complete, keys)
        if not cards:
            raise FormatError(self.path, "no BEGIN:VCARD found: not a vCard file")

    def _cards(self, stream: BinaryIO) -> Iterator[tuple[_Card, bool]]:
        """Cards in file order, each with whether its END:VCARD was reached."""
        card: _Card | None = None
        depth = 0
        pending: _Pending | None = None
        lineno = 0
        for line in physical_lines(stream):
            lineno += 1
            if card is None:
                if line[:11].upper() == b"BEGIN:VCARD" and not line[11:].strip():
                    card = _Card(lineno)
                    card.raw.append(line)
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
            if pending is not None and pending.wanted:
                card.props.append((pending.name, pending.params, b"".join(pending.parts)))
            pending = None
            name, params, value = _split_property(line)
            if name == b"BEGIN" and value.strip().upper() == b"VCARD":
                depth = 1
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

    def _to_records(self, card: _Card, complete: bool, keys: KeyMaker) -> Iterator[Record]:
        file = str(self.path)
        if not complete:
            raw = b"\n".join(card.raw).decode("utf-8", errors="replace")
            yield Problem(file, card.line, raw, "card not closed by END:VCARD (file cut short?)")
        try:
            contact = self._contact(card, keys)
        except (ValueError, binascii.Error) as exc:
            raw = b"\n".join(card.raw).decode("utf-8", errors="replace")
            yield Problem(file, card.line, raw, f"unreadable card: {exc}")
            return
        if isinstance(contact, str):
            yield Skipped(contact, file, card.line)
        else:
            yield contact

    def _text(self, params: bytes, value: bytes) -> str:
        if b"QUOTED-PRINTABLE" in params.upper():
            value = binascii.a2b_qp(value)
        charset = None
        if b"CHARSET" in params.upper():
            match = _CHARSET_RE.search(params)
            if match:
                charset = match.group(1).decode("ascii")
        return decode(value, charset, self.options.windows_codepage)

    def _contact(self, card: _Card, keys: KeyMaker) -> Contact | str:
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
            text = self._text(params, raw)
            if name == b"FN":
                if not fn:
                    fn = _unescape(text).strip()
            elif name == b"N":
                if not n_parts:
                    n_parts = [_unescape(p).strip() for p in _split_unescaped(text, ";")]
            elif name == b"ORG":
                if not org:
                    org = _unescape(_split_unescaped(text, ";")[0]).strip()
            elif name == b"TITLE":
                if not title:
                    title = _unescape(text).strip()
            elif name == b"EMAIL":
                plain = _unescape(text).strip()
                email = normalize_email(plain) or email_in_text(plain)
                if email and email not in emails:
                    emails.append(email)
            elif name == b"TEL":
                phone = normalize_phone(_unescape(text), region)
                if phone and phone not in phones:
                    phones.append(phone)
            elif name == b"URL":
                url = normalize_url(_unescape(text))
                if url and url not in urls:
                    urls.append(url)
            elif name == b"CATEGORIES":
                for label in _split_unescaped(text, ","):
                    label = _unescape(label).strip()
                    if label and label not in labels:
                        labels.append(label)
            elif name == b"NOTE":
                note = _unescape(text).strip()
                if note:
                    notes.append(note)
            elif name == b"UID":
                uid = uid or text.strip()
            elif text.strip().lower() in _GROUP_KINDS:  # KIND, X-ADDRESSBOOKSERVER-KIND
                return "group card (not a person)"
        n_parts += [""] * (5 - len(n_parts))
        family, given, additional, prefix, suffix = n_parts[:5]
        structured = join_name(prefix, given, additional, family, suffix)
        name_shown = display_name(fn, structured, org, emails, phones)
        if not name_shown:
            return "card with no name, e-mail or phone"
        handles = (
            tuple(Handle("email", e) for e in emails)
            + tuple(Handle("phone", p) for p in phones)
            + tuple(Handle("url", u) for u in urls)
        )
        return Contact(
            source=self.name,
            source_id=keys.key(uid, emails, name_shown, org),
            name=name_shown,
            given_name=given,
            family_name=family,
            organization=org,
            title=title,
            handles=handles,
            labels=tuple(labels),
            notes="\n".join(notes),
            file=str(self.path),
            line=card.line,
        )
