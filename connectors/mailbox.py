"""Mail archives: mbox files (Google Takeout, Thunderbird, Apple Mail), Maildir folders, single
`.eml` files and folders of them. Each counted message becomes exchanges (pipeline.mail).

An mbox is streamed in blocks and split only at real separator lines (`From ` followed by an
address or token and an asctime date); a body line such as `From the desk of...` is body, and so
is `>From `. Python's `mailbox.mbox` splits at any `From ` line and indexes the whole file before
the first message; this reader never holds more than a block and the message being read.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from connectors.base import FileConnector, Orphans
from connectors.mailparse import (
    UnreadableDate,
    message_from_headers,
    parse_separator_date,
    redacted,
)
from pipeline.errors import FormatError
from pipeline.mail import EMPTY, Message, exchanges, skip_reason
from pipeline.model import Checkpoint, Problem, Record, Skipped

_BLOCK = 8 << 20
# A message bigger than this (attachments) keeps only its headers and the end of what was read.
_LARGE = 16 << 20
_WEEKDAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTH = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# `From <sender> <asctime>` with an optional numeric zone before or after the year; the sender
# may contain spaces (pipermail writes `jane at example.com`).
_SEPARATOR_AT = re.compile(
    rb"From [^\r\n]{0,300}?"
    + _WEEKDAY
    + rb",? +"
    + _MONTH
    + rb" +\d{1,2},? +\d{1,2}:\d\d(?::\d\d)?(?: +[+-]\d{4}| +[A-Z]{2,5})? +\d{4}"
    rb"(?: +[+-]\d{4})?[ \t]*\r?(?:\n|$)"
)
_SEPARATOR_START = re.compile(rb"\nFrom ")
_HEAD_END = re.compile(rb"\n\r?\n")
_REPORT_EVERY = 4096

#: Folder names (lowercased, without extension) and the role they give their messages.
FOLDER_ROLES: dict[str, str] = {
    **dict.fromkeys(
        (
            "sent",
            "sent mail",
            "sent items",
            "sent messages",
            "sent-mail",
            "outbox",
            "gesendet",
            "gesendete elemente",
            "gesendete objekte",
            "envoyés",
            "éléments envoyés",
            "enviados",
            "elementos enviados",
            "posta inviata",
            "verzonden items",
        ),
        "sent",
    ),
    **dict.fromkeys(("drafts", "draft", "entwürfe", "brouillons", "borradores"), "drafts"),
    **dict.fromkeys(
        ("trash", "deleted items", "deleted messages", "bin", "papierkorb", "corbeille"),
        "trash",
    ),
    **dict.fromkeys(("spam", "junk", "junk e-mail", "junk email", "bulk mail"), "spam"),
}


def folder_role(name: str) -> str:
    """The role (sent, drafts, trash, spam) a folder's name gives its messages, or ""."""
    stem = name.lower().strip().lstrip(".")
    for suffix in (".mbox", ".mbx", ".sbd", ".eml"):
        stem = stem.removesuffix(suffix)
    # Maildir++ nests folders with dots: ".INBOX.Sent" is Sent.
    last = stem.rsplit(".", 1)[-1] if "." in stem and stem not in FOLDER_ROLES else stem
    return FOLDER_ROLES.get(stem) or FOLDER_ROLES.get(last, "")


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One message as read from an archive: its header block (starting with a newline), where
    it starts (byte offset; 1-based line once known), and what its container says about it."""

    head: bytes
    offset: int
    separator: bytes = b""
    labels: frozenset[str] = frozenset()
    draft: bool = False
    file: str = ""


class MailArchive(FileConnector):
    """Shared by the archive readers: messages in, exchanges out, noise counted by rule."""

    orphans: ClassVar[Orphans] = "discover"

    def messages(self) -> Iterator[RawMessage]:
        """Every message of the archive, in order."""
        raise NotImplementedError

    def signature(self) -> str:
        """The cursor: what tells whether the archive changed since the last import."""
        return self.digest()

    def extract(self, cursor: str | None) -> Iterator[Record]:
        digest = self.signature()
        if digest == cursor:
            yield Checkpoint(digest)
            return
        policy = self.options.mail
        if not policy.me:
            inferred, how = self.infer_me()
            if inferred:
                policy = policy.with_me(inferred)
                self.notes.append(
                    f"your addresses, inferred from {how}: {', '.join(inferred)} "
                    "(set `me` in config.toml to fix them)"
                )
            else:
                self.notes.append(
                    "could not tell which addresses are yours, so every message counts as "
                    "received; set `me` in config.toml"
                )
        problems: list[tuple[RawMessage, str]] = []
        count = 0
        progress = self.progress
        for raw in self.messages():
            count += 1
            if progress is not None and count % _REPORT_EVERY == 0:
                progress(raw.offset, count)
            if raw.head.strip() == b"":
                yield Skipped(EMPTY)
                continue
            try:
                message = self._message(raw)
            except UnreadableDate as exc:
                problems.append((raw, str(exc)))
                continue
            reason, found = exchanges(message, policy, self.name)
            if reason:
                yield Skipped(reason)
            else:
                yield from found
        if progress is not None:
            progress(self.total_bytes(), count)
        yield from self._problems(problems)
        yield Checkpoint(digest)

    def _message(self, raw: RawMessage) -> Message:
        return message_from_headers(
            raw.head,
            separator_date=parse_separator_date(raw.separator.decode("latin-1"))
            if raw.separator
            else None,
            labels=raw.labels,
            draft=raw.draft,
        )

    def _problems(self, problems: list[tuple[RawMessage, str]]) -> Iterator[Problem]:
        for raw, reason in problems:
            yield Problem(
                file=raw.file or str(self.path),
                line=1,
                raw=redacted(raw.head),
                reason=f"{reason} (byte {raw.offset})" if raw.offset else reason,
            )

    def infer_me(self) -> tuple[list[str], str]:
        """The user's addresses when config.toml does not say: the senders of messages labelled
        or filed as sent, else the one address most messages were sent to. Reads the archive."""
        sent_from: Counter[str] = Counter()
        recipients: Counter[str] = Counter()
        total = 0
        for raw in self.messages():
            try:
                message = self._message(raw)
            except UnreadableDate:
                continue
            if skip_reason(message, self.options.mail):
                continue
            total += 1
            if "sent" in message.labels and message.sender is not None:
                sent_from[message.sender.email] += 1
            for email in {a.email for a in (*message.to, *message.cc)}:
                recipients[email] += 1
        if sent_from:
            floor = max(1, sum(sent_from.values()) // 100)
            found = [email for email, n in sent_from.most_common(10) if n >= floor]
            return found, f"the senders of {sum(sent_from.values())} sent messages"
        if recipients:
            email, n = recipients.most_common(1)[0]
            if n * 3 >= total:
                return [email], f"the recipient of {n} of {total} messages"
        return [], ""


class MboxConnector(MailArchive):
    """An mbox file: Google Takeout, Thunderbird, Apple Mail, mutt, pipermail archives."""

    name: ClassVar[str] = "mbox"
    description: ClassVar[str] = "an mbox mail archive"

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        head = head.lstrip(b"\r\n")
        if not head.startswith(b"From "):
            return False
        if _SEPARATOR_AT.match(head) is not None:
            return True
        # A first separator cut short: a real one must follow.
        match = _SEPARATOR_START.search(head)
        while match is not None:
            if _SEPARATOR_AT.match(head, match.start() + 1) is not None:
                return True
            match = _SEPARATOR_START.search(head, match.start() + 1)
        return False

    def signature(self) -> str:
        """Size and modification time: hashing a multi-gigabyte archive before reading it would
        cost a second full read, and an archive that changes keeps neither. Re-reading an
        unchanged archive whose time changed only repeats work: exchanges are stored once."""
        stat = self.path.stat()
        return f"size={stat.st_size};mtime_ns={stat.st_mtime_ns}"

    def messages(self) -> Iterator[RawMessage]:
        role = folder_role(self.path.name)
        labels = frozenset({role}) if role else frozenset()
        file = str(self.path)
        for offset, separator, head in split_mbox(self.path):
            yield RawMessage(head, offset, separator, labels, role == "drafts", file)

    def _problems(self, problems: list[tuple[RawMessage, str]]) -> Iterator[Problem]:
        offsets = [raw.offset for raw, _ in problems]
        lines = line_numbers(self.path, offsets)
        for (raw, reason), line in zip(problems, lines, strict=True):
            yield Problem(
                file=str(self.path),
                line=line,
                raw=redacted(raw.head),
                reason=f"{reason} (message at byte {raw.offset})",
            )


def split_mbox(
    path: Path, block: int = _BLOCK, large_message: int = _LARGE
) -> Iterator[tuple[int, bytes, bytes]]:
    """(offset, separator line, header block) of each message of an mbox file, streamed.

    The header block starts with the newline that ends the separator line, so that every
    header sits after a newline. Line ends may be LF, CRLF or mixed; the last message may lack
    its final newline or be cut short. `block` and `large_message` are the read size and the
    size past which a message's body is skipped instead of kept.
    """
    with path.open("rb") as handle:
        buffer = handle.read(block)
        start = len(buffer) - len(buffer.lstrip(b"\r\n"))
        # The first line is a separator whatever its date looks like (some tools cut it short).
        if not buffer.startswith(b"From ", start):
            raise FormatError(path, "not an mbox file: it does not start with a `From ` line")
        base = 0  # the file offset of buffer[0]
        eof = False
        scan = start + 1
        # The current message's (offset, separator, headers) once it outgrew `large_message`:
        # the rest of its body is read past, not kept.
        large: tuple[int, bytes, bytes] | None = None
        while True:
            nxt, scan = _next_separator(buffer, scan, eof)
            if nxt < 0 and not eof:
                if large is None and len(buffer) - start > large_message:
                    # Once its headers are all in (or they never end: a broken file).
                    whole = _head_end(buffer, start) >= 0 or len(buffer) - start > 4 * large_message
                    if whole:
                        large = (
                            base + start,
                            _line(buffer, start),
                            _head(buffer, start, len(buffer)),
                        )
                cut = max(0, len(buffer) - 8) if large is not None else start
                cut = min(cut, scan)
                base += cut
                buffer = buffer[cut:]
                start -= cut
                scan -= cut
                chunk = handle.read(block)
                if chunk:
                    buffer += chunk
                else:
                    eof = True
                continue
            end = nxt if nxt >= 0 else len(buffer)
            if large is not None:
                yield large
                large = None
            else:
                yield base + start, _line(buffer, start), _head(buffer, start, end)
            if nxt < 0:
                return
            start = nxt
            scan = nxt + 1


def _next_separator(buffer: bytes, scan: int, eof: bool) -> tuple[int, int]:
    """(index of the next real separator line at or after `scan`, or -1; where to scan next).

    A candidate that the end of the buffer cuts short is looked at again once more is read.
    """
    while True:
        match = _SEPARATOR_START.search(buffer, scan)
        if match is None:
            return -1, max(scan, len(buffer) - 5)
        candidate = match.start() + 1
        line_end = buffer.find(b"\n", candidate)
        if line_end < 0 and not eof:
            return -1, match.start()
        if _SEPARATOR_AT.match(buffer, candidate) is not None:
            return candidate, candidate + 1
        scan = candidate


def _head_end(buffer: bytes, start: int) -> int:
    """Where the headers of the message at `start` end (-1: not within the buffer)."""
    sep_end = buffer.find(b"\n", start)
    if sep_end < 0:
        return -1
    match = _HEAD_END.search(buffer, sep_end)
    return match.start() if match is not None else -1


def _line(buffer: bytes, start: int) -> bytes:
    end = buffer.find(b"\n", start)
    return buffer[start : end if end >= 0 else len(buffer)].rstrip(b"\r")


def _head(buffer: bytes, start: int, end: int) -> bytes:
    """The header block of the message at buffer[start:end] (from its separator line's end)."""
    sep_end = buffer.find(b"\n", start, end)
    if sep_end < 0:
        return b"\n"
    match = _HEAD_END.search(buffer, sep_end, end)
    stop = match.start() if match is not None else end
    # A header block that does not start with a header cannot hold the ones we want anyway;
    # the slice keeps its leading newline.
    return buffer[sep_end:stop]


def line_numbers(path: Path, offsets: list[int]) -> list[int]:
    """1-based line numbers of byte offsets in a file (counted only when something needs them:
    a quarantined message), in one pass."""
    if not offsets:
        return []
    order = sorted(range(len(offsets)), key=offsets.__getitem__)
    result = [0] * len(offsets)
    line = 1
    position = 0
    with path.open("rb") as handle:
        index = 0
        while index < len(order):
            block = handle.read(_BLOCK)
            if not block:
                break
            block_end = position + len(block)
            while index < len(order) and offsets[order[index]] < block_end:
                target = offsets[order[index]]
                result[order[index]] = line + block.count(b"\n", 0, target - position)
                index += 1
            line += block.count(b"\n")
            position = block_end
        for i in order[index:]:
            result[i] = line
    return result


class EmlConnector(MailArchive):
    """One message saved as a file (`.eml`, or a Maildir message)."""

    name: ClassVar[str] = "eml"
    description: ClassVar[str] = "a saved e-mail message (.eml)"
    # A header field name: printable ASCII without a colon or a space (RFC 5322).
    _FIELD = re.compile(rb"[!-9;-~]{1,76}:")
    _TELLING = (b"\nfrom:", b"\ndate:", b"\nmessage-id:", b"\nreceived:", b"\nsubject:")

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        first = head.lstrip(b"\r\n")
        if cls._FIELD.match(first) is None:
            return False
        if path.suffix.lower() == ".eml":
            return True
        block = b"\n" + first[:8192].lower()
        return any(block.find(name) >= 0 for name in cls._TELLING)

    def messages(self) -> Iterator[RawMessage]:
        yield read_message_file(self.path, frozenset(), "")


def read_message_file(path: Path, labels: frozenset[str], flags: str) -> RawMessage:
    """The header block of a message stored alone in a file (read until the first blank line)."""
    chunks: list[bytes] = []
    with path.open("rb") as handle:
        data = b"\n"
        while True:
            chunk = handle.read(65536)
            if not chunk:
                break
            data += chunk
            match = _HEAD_END.search(data)
            if match is not None:
                data = data[: match.start()]
                break
        chunks.append(data)
    head = b"".join(chunks)
    if head.startswith(b"\nFrom ") and _SEPARATOR_AT.match(head, 1) is not None:
        # An mbox-style first line (some tools save messages with one): not a header.
        newline = head.find(b"\n", 1)
        head = head[newline:] if newline > 0 else b"\n"
    draft = "D" in flags
    if "T" in flags:
        labels = labels | {"trash"}
    return RawMessage(head, 0, b"", labels, draft, str(path))


class MailFolderConnector(MailArchive):
    """A folder of messages: a Maildir (cur/ and new/, Maildir++ subfolders such as .Sent), or a
    folder of `.eml` files. One source: one transaction and one checkpoint for the folder."""

    name: ClassVar[str] = "maildir"
    description: ClassVar[str] = "a Maildir or a folder of .eml files"

    @classmethod
    def sniff(cls, head: bytes, path: Path) -> bool:
        return False  # folders are recognized by `is_mail_folder`, not by content

    def _files(self) -> list[tuple[Path, frozenset[str], str]]:
        """(file, folder labels, Maildir flags) of every message, in a stable order."""
        found: list[tuple[Path, frozenset[str], str]] = []
        for folder, role in _maildirs(self.path):
            labels = frozenset({role}) if role else frozenset()
            for sub in ("cur", "new"):
                directory = folder / sub
                if directory.is_dir():
                    for entry in sorted(os.scandir(directory), key=lambda e: e.name):
                        if entry.is_file() and not entry.name.startswith("."):
                            flags = entry.name.rpartition(":2,")[2] if ":2," in entry.name else ""
                            found.append((Path(entry.path), labels, flags))
        if not found:
            for file in sorted(self.path.rglob("*.eml")):
                role = folder_role(file.parent.name) if file.parent != self.path else ""
                found.append((file, frozenset({role}) if role else frozenset(), ""))
        return found

    def total_bytes(self) -> int:
        return sum(f.stat().st_size for f, _, _ in self._files())

    def digest(self) -> str:
        """Names (without Maildir flags) and sizes: a message file never changes in place."""
        sha = hashlib.sha256()
        for file, _, _ in self._files():
            sha.update(f"{file.name.partition(':2,')[0]}\0{file.stat().st_size}\n".encode())
        return sha.hexdigest()

    def messages(self) -> Iterator[RawMessage]:
        done = 0
        for file, labels, flags in self._files():
            raw = read_message_file(file, labels, flags)
            done += file.stat().st_size
            yield RawMessage(raw.head, done, b"", raw.labels, raw.draft, raw.file)

    def _problems(self, problems: list[tuple[RawMessage, str]]) -> Iterator[Problem]:
        for raw, reason in problems:
            yield Problem(file=raw.file, line=1, raw=redacted(raw.head), reason=reason)


def _maildirs(root: Path) -> list[tuple[Path, str]]:
    """Every Maildir at or below `root` with the role of its folder (Maildir++ `.Sent`)."""
    found: list[tuple[Path, str]] = []
    for folder in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
        if (folder / "cur").is_dir() and (folder / "new").is_dir():
            found.append((folder, folder_role(folder.name) if folder != root else ""))
    return found


def is_mail_folder(path: Path) -> bool:
    """Whether a folder holds mail: a Maildir, Maildir++ folders, or `.eml` files."""
    if (path / "cur").is_dir() and (path / "new").is_dir():
        return True
    return any(True for _ in path.glob("*.eml"))
