"""Reading the few headers netgarden needs from raw message bytes, fast and forgivingly.

Why not the `email` package for every message: parsing a whole message with it costs a quarter
of a millisecond even under `compat32`, and its date parser returns naive datetimes for zones it
does not know. Here a header block is scanned once with one regular expression for the wanted
headers only; addresses and dates take a plain fast path for the common shapes and fall back to
`email.utils` (and `email.header` for RFC 2047 names) for the rest. Bodies are never decoded, and
subjects are never read.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.errors import MessageError
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_tz
from functools import lru_cache

from pipeline.mail import Address, Message, message_key, noise
from pipeline.model import plausible
from pipeline.normalize import invalid_email, normalize_email

#: The headers read, lowercased. Received only serves as a fallback date.
WANTED = (
    b"from",
    b"to",
    b"cc",
    b"bcc",
    b"reply-to",
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"precedence",
    b"auto-submitted",
    b"x-gmail-labels",
)
# A header starts at a line start; the block handed in begins with a newline so that the first
# header matches too. Folded continuation lines (starting with a space or tab) belong to it.
# The names are matched without regard to case, the newline before them exactly: a leading
# literal lets the regex engine skip to each line start at C speed (twice as fast on a block).
_HEADER_RE = re.compile(
    rb"\n((?i:" + b"|".join(WANTED) + rb"))[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)"
)
_RECEIVED_RE = re.compile(rb"\nreceived[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)", re.IGNORECASE)
_FOLD_RE = re.compile(rb"\r?\n[ \t]*")

_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_DATE_RE = re.compile(
    r"\s*(?:[A-Za-z]+\s*,?\s*)?(\d{1,2})[\s-]+([A-Za-z]{3})[A-Za-z]*\.?[\s-]+(\d{2,4})\s+"
    r"(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?\s*(?:([+-])(\d\d):?(\d\d)\b|([A-Za-z]{1,5})\b)"
)
#: The named zones RFC 2822 (obsolete syntax) defines, in hours from UTC. Any other name (`H0500`,
#: `XYZ`) is not a zone: `email.utils.parsedate_tz` reads those as UTC without a word.
_NAMED_ZONES = {
    "ut": 0,
    "utc": 0,
    "gmt": 0,
    "z": 0,
    "est": -5,
    "edt": -4,
    "cst": -6,
    "cdt": -5,
    "mst": -7,
    "mdt": -6,
    "pst": -8,
    "pdt": -7,
}
_REAL_ZONE_RE = re.compile(
    r"(?:^|\s)(?:[+-]\d{4}|UT|UTC|GMT|[ECMP][SD]T)(?:\s|\(|$)", re.IGNORECASE
)
_ASCTIME_RE = re.compile(
    r"(?:[A-Za-z]{3})\s+([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s+([+-])(\d\d)(\d\d))?\s+(\d{4})(?:\s+([+-])(\d\d)(\d\d))?"
)
#: The instant dates are judged against: when this process started (forked workers share it).
_NOW = datetime.now(UTC)


def header_text(raw: bytes) -> str:
    """A raw header value as text: unfolded, 8-bit bytes read as UTF-8, else Latin-1."""
    if raw.find(b"\n") >= 0:
        raw = _FOLD_RE.sub(b" ", raw)
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
    return text.strip()


def decode_words(text: str) -> str:
    """RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?ISO-8859-1?B?...?=`) decoded; text without
    any, or that cannot be decoded, as it is."""
    if text.find("=?") < 0:
        return text
    try:
        return str(make_header(decode_header(text))).strip()
    except (ValueError, LookupError, UnicodeError, MessageError):  # utf-ç, a cut word
        return text


_NOT_GIVEN_NAMES = frozenset(
    {"inc", "inc.", "ltd", "ltd.", "llc", "gmbh", "ag", "sa", "jr", "jr.", "sr", "sr.", "phd"}
)


def _clean_name(name: str, email: str) -> str:
    """A display name decoded and tidied; `Roe, Jane` (Outlook's order) becomes `Jane Roe`."""
    name = " ".join(decode_words(name.strip().strip('"').strip("'").strip()).split())
    if name.lower() == email or name.lower() == f"<{email}>":
        return ""
    family, comma, given = name.partition(",")
    if (
        comma
        and family
        and given.strip()
        and "," not in given
        and "@" not in name
        and given.strip().lower() not in _NOT_GIVEN_NAMES
    ):
        return f"{given.strip()} {family.strip()}"
    return name


# The caches are bounded: each parse worker holds its own, and together they stay a few MB.
@lru_cache(maxsize=32768)
def _address(name: str, raw: str) -> Address | None:
    email = normalize_email(raw)
    if email is None:
        return None
    return Address(email, _clean_name(name, email))


# One address of a list, in the shapes real mail uses: `"Quoted, Name" <a@b>`, `Name <a@b>`,
# `=?UTF-8?Q?...?= <a@b>`, `a@b`. Anything else (comments, groups, routes) goes to getaddresses.
_ITEM_RE = re.compile(
    r'[\s,]*(?:(?:"((?:[^"\\]|\\.)*)"|([^",<>;:()\\@]*?))\s*<([^<>"\s,;:()\\]*)>'
    r'|([^\s,"<>;:()\\]+@[^\s,"<>;:()\\]+))\s*(?=,|$)'
)
_QUOTED_PAIR_RE = re.compile(r"\\(.)")
# Mailing-list archives (pipermail) hide addresses as "jane at example.com (Jane Roe)".
_ARCHIVED_RE = re.compile(r"\s*([^\s@<>(),]+) at ([^\s@<>(),]+\.[^\s@<>(),]+)\s*(?:\((.*)\))?\s*")


def parse_addresses(value: str) -> tuple[Address, ...]:
    """The addresses of an address-list header, lowercased, display names decoded; parts that
    are not addresses (undisclosed-recipients:;, X.500 paths) are left out."""
    return parse_address_list(value)[0]


def parse_address_list(value: str) -> tuple[tuple[Address, ...], tuple[str, ...]]:
    """`parse_addresses`, and the parts that were meant as addresses but are not valid ones
    (`jane.@example.com`): a problem to report, not a person."""
    found: list[Address] = []
    invalid: list[str] = []

    def add(name: str, raw: str) -> None:
        address = _address(name, raw)
        if address is not None:
            found.append(address)
        elif invalid_email(raw):
            invalid.append(raw.strip())

    if value.find("@") < 0:
        archived = _ARCHIVED_RE.fullmatch(value)
        if archived is not None:
            add(archived.group(3) or "", f"{archived[1]}@{archived[2]}")
            return tuple(found), tuple(invalid)
    position = 0
    end = len(value)
    while position < end:
        match = _ITEM_RE.match(value, position)
        if match is None:
            break
        quoted, phrase, bracketed, bare = match.groups()
        if bare is not None:
            add("", bare)
        else:
            name = phrase if quoted is None else _QUOTED_PAIR_RE.sub(r"\1", quoted)
            add(name or "", bracketed)
        position = match.end()
    if value[position:].strip(" \t,"):
        found = []
        invalid = []
        for name, raw in getaddresses([value]):
            add(name, raw)
    return tuple(found), tuple(invalid)


def _instant(
    year: int, month: int, day: int, hour: int, minute: int, second: int, offset: int
) -> datetime | None:
    if year < 100:
        year += 2000 if year < 50 else 1900
    try:
        moment = datetime(year, month, day, hour, minute, min(second, 59), tzinfo=UTC)
        moment -= timedelta(seconds=offset)
    except (ValueError, OverflowError):  # 31 Dec 9999 -2359 is in the year 10000 in UTC
        return None
    # A date no exchange can have is no better than none: the caller falls back on the
    # Received header, then the separator line.
    return moment if plausible(moment, _NOW) else None


def parse_date(value: str) -> datetime | None:
    """An RFC 2822 date as an aware UTC instant, or None when it cannot be trusted.

    A date without a zone, or with one that is not a zone (`H0500`), is None rather than a guess:
    the caller has better evidence (the mbox separator line, the Received header).
    """
    match = _DATE_RE.match(value)
    if match is not None:
        day, mon, year, hour, minute, second, sign, zh, zm, named = match.groups()
        month = _MONTHS.get(mon.lower())
        if month is not None:
            if named:
                hours = _NAMED_ZONES.get(named.lower())
                if hours is None:
                    return None
                offset = hours * 3600
            else:
                offset = (int(zh) * 3600 + int(zm) * 60) * (1 if sign == "+" else -1)
            return _instant(
                int(year), month, int(day), int(hour), int(minute), int(second or 0), offset
            )
    # Other orders and spellings, only when a real zone is there to read.
    if _REAL_ZONE_RE.search(value) is None:
        return None
    parsed = parsedate_tz(value)
    if parsed is None or parsed[9] is None:
        return None
    year, month, day, hour, minute, second = parsed[:6]
    if not (1 <= month <= 12):
        return None
    return _instant(year, month, day, hour, minute, second, parsed[9])


def parse_separator_date(value: str) -> datetime | None:
    """The date of an mbox `From ` line (asctime, UTC unless it names an offset)."""
    match = _ASCTIME_RE.search(value)
    if match is None:
        return None
    mon, day, hour, minute, second, s1, h1, m1, year, s2, h2, m2 = match.groups()
    month = _MONTHS.get(mon.lower())
    if month is None:
        return None
    sign, zh, zm = (s1, h1, m1) if s1 else (s2, h2, m2)
    offset = (int(zh) * 3600 + int(zm) * 60) * (1 if sign == "+" else -1) if sign else 0
    return _instant(int(year), month, int(day), int(hour), int(minute), int(second or 0), offset)


def received_date(block: bytes) -> datetime | None:
    """The date the topmost (last) Received header gives after its `;`, if readable."""
    for match in _RECEIVED_RE.finditer(block):
        text = header_text(match.group(1))
        semicolon = text.rfind(";")
        if semicolon >= 0:
            moment = parse_date(text[semicolon + 1 :])
            if moment is not None:
                return moment
    return None


def read_headers(block: bytes) -> dict[bytes, bytes]:
    """The wanted headers of a header block (which must start with a newline), lowercased
    names; address headers that occur more than once are joined with commas."""
    headers: dict[bytes, bytes] = {}
    for name, value in _HEADER_RE.findall(block):
        name = name.lower()
        if name in headers:
            if name in (b"to", b"cc", b"bcc"):
                headers[name] += b"," + value
            continue
        headers[name] = value
    return headers


class UnreadableDate(ValueError):
    """A message whose date cannot be told from its Date, Received or separator line."""


def _labels(headers: dict[bytes, bytes], labels: frozenset[str]) -> frozenset[str]:
    raw = headers.get(b"x-gmail-labels")
    if raw is None:
        return labels
    own = gmail_labels(raw)
    return own | labels if labels else own


@lru_cache(maxsize=4096)
def gmail_labels(raw: bytes) -> frozenset[str]:
    """An X-Gmail-Labels value as lowercased labels (the same few combinations recur)."""
    text = decode_words(header_text(raw)).lower()
    return frozenset(part.strip().strip('"') for part in text.split(","))


@lru_cache(maxsize=16384)
def addresses_of(raw: bytes) -> tuple[tuple[Address, ...], tuple[str, ...]]:
    """The valid addresses of a raw address header, and the invalid ones."""
    return parse_address_list(header_text(raw))


def read_message(
    block: bytes,
    *,
    separator: bytes = b"",
    labels: frozenset[str] = frozenset(),
    draft: bool = False,
) -> Message | str:
    """The `Message` of a header block (starting with a newline), or the label or bulk rule
    that makes it noise, decided before its addresses and date are read (most of the cost).
    `labels` adds folder roles (sent, drafts, ...) to the message's own X-Gmail-Labels;
    `separator` is its mbox `From ` line. Raises UnreadableDate."""
    headers = read_headers(block)
    labels = _labels(headers, labels)
    bulk = _bulk(headers)
    reason = noise(labels, draft, *bulk)
    return reason or _build(headers, block, separator, labels, draft, bulk)


def message_from_headers(
    block: bytes,
    *,
    separator: bytes = b"",
    labels: frozenset[str] = frozenset(),
    draft: bool = False,
) -> Message:
    """The whole `Message` of a header block, noise or not (see `read_message`)."""
    headers = read_headers(block)
    return _build(headers, block, separator, _labels(headers, labels), draft, _bulk(headers))


def _bulk(headers: dict[bytes, bytes]) -> tuple[str, str, str, str]:
    """List-Id, List-Unsubscribe, Precedence and Auto-Submitted ("" when absent)."""
    get = headers.get
    if not (
        b"list-id" in headers
        or b"list-unsubscribe" in headers
        or b"precedence" in headers
        or b"auto-submitted" in headers
    ):
        return "", "", "", ""
    return (
        header_text(get(b"list-id", b"")),
        header_text(get(b"list-unsubscribe", b"")),
        header_text(get(b"precedence", b"")),
        header_text(get(b"auto-submitted", b"")),
    )


def _build(
    headers: dict[bytes, bytes],
    block: bytes,
    separator: bytes,
    labels: frozenset[str],
    draft: bool,
    bulk: tuple[str, str, str, str],
) -> Message:
    get = headers.get
    raw_date = get(b"date")
    at = parse_date(header_text(raw_date)) if raw_date is not None else None
    if at is None:
        at = received_date(block)
        if at is None and separator:
            at = parse_separator_date(separator.decode("latin-1"))
        if at is None:
            shown = header_text(raw_date) if raw_date is not None else "(none)"
            raise UnreadableDate(f"unreadable Date {shown!r} and no Received or separator date")
    sender = None
    invalid: list[str] = []
    raw_from = get(b"from")
    if raw_from is not None:
        senders, bad = addresses_of(raw_from)
        sender = senders[0] if senders else None
        invalid += bad
    recipients: list[tuple[Address, ...]] = []
    for name in (b"to", b"cc", b"bcc"):
        raw = get(name)
        if raw is None:
            recipients.append(())
            continue
        valid, bad = addresses_of(raw)
        recipients.append(valid)
        invalid += bad
    to, cc, bcc = recipients
    raw = get(b"message-id")
    message_id = header_text(raw) if raw is not None else ""
    if message_id:
        key = message_key(message_id)
    else:
        key = message_key(
            "",
            at.isoformat(),
            sender.email if sender else "",
            ",".join(a.email for a in (*to, *cc, *bcc)),
        )
    return Message(
        at=at,
        key=key,
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        labels=labels,
        draft=draft,
        list_id=bulk[0],
        list_unsubscribe=bulk[1],
        precedence=bulk[2],
        auto_submitted=bulk[3],
        invalid=tuple(invalid),
    )


def redacted(block: bytes) -> str:
    """The headers netgarden reads of a header block, as text for the quarantine: never the
    subject or any other header, never the body."""
    lines = [
        f"{name.decode('ascii', 'replace')}: {header_text(value)}"
        for name, value in _HEADER_RE.findall(block)
    ]
    return "\n".join(lines)
