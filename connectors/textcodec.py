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
    """The encoding of a file that starts with `head`: the one a byte-order mark announces, else
    UTF-16 told from its content (Apple's address book writes UTF-16 without a mark), else
    None (a byte-oriented encoding: UTF-8 or a code page)."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    return utf16_without_bom(head)


def utf16_without_bom(head: bytes) -> str | None:
    """ "utf-16-be" or "utf-16-le" when `head` is text in UTF-16 without a byte-order mark: in
    its first bytes nearly every other byte is NUL (text in any script but CJK has a NUL high
    byte), on one side only."""
    sample = head[:2048]
    pairs = len(sample) // 2
    if pairs < 8:
        return None
    even = sample[0 : pairs * 2 : 2].count(0)
    odd = sample[1 : pairs * 2 : 2].count(0)
    if even >= 0.9 * pairs and odd <= 0.1 * pairs:
        return "utf-16-be"
    if odd >= 0.9 * pairs and even <= 0.1 * pairs:
        return "utf-16-le"
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
