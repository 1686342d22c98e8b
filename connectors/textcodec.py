"""Decoding text of unknown encoding, the way exports really arrive.

The order is fixed: UTF-8 first (what nearly every modern export is), then the charset the file
declares, then the configured Windows code page, which decodes any byte sequence.
"""

from __future__ import annotations

import codecs

BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_encoding(head: bytes) -> str | None:
    """The encoding a byte-order mark at the start of `head` announces, if any."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    return None


def decode(data: bytes, declared: str | None, codepage: str) -> str:
    """Decode `data`: UTF-8, else the declared charset, else the Windows code page."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    return data.decode(codepage, errors="replace")


def head_text(head: bytes, codepage: str) -> str:
    """The first bytes of a file as text, for format detection (tolerates a cut multibyte char)."""
    encoding = bom_encoding(head)
    if encoding:
        return head.decode(encoding, errors="ignore")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(head) - 4:
            return head[: exc.start].decode("utf-8")
        return head.decode(codepage, errors="replace")
