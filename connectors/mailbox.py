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
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, ClassVar

from connectors.base import FileConnector, Orphans
from connectors.mailparse import UnreadableDate, read_message, redacted
from connectors.workers import pool as worker_pool
from pipeline.errors import FormatError
from pipeline.mail import EMPTY, MailPolicy, exchanges
from pipeline.model import HANDLE_ORDER, ExchangeRow, Problem, Record, exchange_rows, packed

_BLOCK = 4 << 20
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
#: Messages per batch when reading a folder; an mbox batch is a block.
_BATCH = 2000
#: How much of each end of an mbox its signature digests.
_SIGNED_BYTES = 1 << 20
#: An mbox this large is parsed by worker processes, one per core up to _WORKERS.
_PARALLEL_BYTES = 32 << 20
_WORKERS = 2
#: The run of an mbox a worker reads itself (cut at a separator line after this many bytes).
_SPAN = 16 << 20
#: Spans queued per worker: work for them while this process stores what came back.
_QUEUED = 3
#: What is read at a time to find a separator line where a span ends.
_PEEK = 1 << 16

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
    it starts and ends (byte offsets, for errors and progress), and what its container says."""

    head: bytes
    offset: int
    separator: bytes = b""
    labels: frozenset[str] = frozenset()
    draft: bool = False
    file: str = ""
    end: int = 0


@dataclass
class Batch:
    """What reading a run of messages found, packed in plain tuples and counters so that a
    worker process can send it back cheaply (frozen dataclasses pickle ten times slower)."""

    #: Bytes of the archive read up to the end of this run, and messages in it.
    end: int = 0
    messages: int = 0
    exchanges: list[ExchangeRow] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    #: (byte offset, file, reason, the headers netgarden reads, as text)
    problems: list[tuple[int, str, str, str]] = field(default_factory=list)
    #: For inferring the user's addresses: senders of sent mail, recipients of any mail.
    sent_from: Counter[str] = field(default_factory=Counter)
    recipients: Counter[str] = field(default_factory=Counter)


def read_batch(
    raws: Iterable[RawMessage], policy: MailPolicy, source: str, *, infer: bool = False
) -> Batch:
    """The exchanges, skips and problems of a run of messages (pure: no I/O). With `infer`,
    only the evidence for the user's addresses is gathered."""
    batch = Batch()
    append = batch.exchanges.extend
    skipped = batch.skipped
    for raw in raws:
        batch.messages += 1
        batch.end = raw.end
        if raw.head.strip() == b"":
            skipped[EMPTY] += 1
            continue
        try:
            message = read_message(
                raw.head, separator=raw.separator, labels=raw.labels, draft=raw.draft
            )
        except UnreadableDate as exc:
            if not infer:
                batch.problems.append((raw.offset, raw.file, str(exc), redacted(raw.head)))
            continue
        if isinstance(message, str):
            skipped[message] += 1
            continue
        if infer:
            if "sent" in message.labels and message.sender is not None:
                batch.sent_from[message.sender.email] += 1
            batch.recipients.update({a.email for a in (*message.to, *message.cc)})
            continue
        if message.invalid:
            problem = f"not a valid e-mail address: {', '.join(message.invalid)}"
            batch.problems.append((raw.offset, raw.file, problem, redacted(raw.head)))
        reason, found = exchanges(message, policy, source, noise_checked=True)
        if reason:
            skipped[reason] += 1
            continue
        append(exchange_rows(found))
    return batch


class MailArchive(FileConnector):
    """Shared by the archive readers: messages in, exchanges out, noise counted by rule."""

    orphans: Orphans = "discover"

    def messages(self) -> Iterator[RawMessage]:
        """Every message of the archive, in order."""
        raise NotImplementedError

    def batches(self, policy: MailPolicy, *, infer: bool = False) -> Iterator[Batch]:
        """The archive read in runs of messages, in order."""
        raws: list[RawMessage] = []
        for raw in self.messages():
            raws.append(raw)
            if len(raws) >= _BATCH:
                yield read_batch(raws, policy, self.name, infer=infer)
                raws = []
        if raws:
            yield read_batch(raws, policy, self.name, infer=infer)

    def size(self) -> int:
        """The bytes one pass over the archive reads."""
        return self.path.stat().st_size

    def total_bytes(self) -> int:
        """The bytes the import reads: two passes when the user's addresses must be inferred."""
        return self.size() * (1 if self.options.mail.me else 2)

    def read_file(self) -> Iterator[Record]:
        policy = self.options.mail
        # Without `me`, a first pass over the archive finds the user's addresses; a progress
        # bar then covers both passes (see total_bytes).
        done_before = 0
        if not policy.me:
            policy = self._inferred(policy)
            done_before = self.size()
        problems: list[tuple[int, str, str, str]] = []
        count = 0
        for batch in self.batches(policy):
            count += batch.messages
            self._report(done_before + batch.end, count)
            yield from packed(self.name, batch.exchanges, batch.skipped)
            problems.extend(batch.problems)
        yield from self._problems(problems)

    def _inferred(self, policy: MailPolicy) -> MailPolicy:
        """The policy with the user's addresses, inferred (config.toml names none): the senders
        of messages labelled or filed as sent, else the one address most messages went to."""
        sent_from: Counter[str] = Counter()
        recipients: Counter[str] = Counter()
        total = 0
        read = 0
        for batch in self.batches(policy, infer=True):
            read += batch.messages
            self._report(batch.end, read)
            sent_from.update(batch.sent_from)
            recipients.update(batch.recipients)
            total += batch.messages - sum(batch.skipped.values())
        found: list[str] = []
        how = ""
        if sent_from:
            floor = max(1, sum(sent_from.values()) // 100)
            found = [email for email, n in sent_from.most_common(10) if n >= floor]
            how = f"the senders of {sum(sent_from.values())} sent messages"
        elif recipients:
            email, n = recipients.most_common(1)[0]
            if n * 3 >= total:
                found, how = [email], f"the recipient of {n} of {total} messages"
        if not found:
            self.notes.append(
                "could not tell which addresses are yours, so every message counts as "
                "received; set `me` in config.toml"
            )
            return policy
        self.notes.append(
            f"your addresses, inferred from {how}: {', '.join(found)} "
            "(set `me` in config.toml to fix them)"
        )
        self.found_me = list(found)
        return policy.with_me(found)

    def _problems(self, problems: list[tuple[int, str, str, str]]) -> Iterator[Problem]:
        for _, file, reason, raw in problems:
            yield Problem(file=file or str(self.path), line=1, raw=raw, reason=reason)


class MboxConnector(MailArchive):
    """An mbox file: Google Takeout, Thunderbird, Apple Mail, mutt, pipermail archives.

    A file of `_PARALLEL_BYTES` or more is read on every core: this process cuts it into
    blocks of whole messages, worker processes parse them, and their results come back in file
    order (a few blocks in flight keep memory bounded)."""

    name: ClassVar[str] = "mbox"
    description: ClassVar[str] = "an mbox mail archive"
    sniff_first = False  # see check_format: a separator cut short is still an mbox

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

    def check_format(self) -> None:
        """An mbox begins with a `From ` separator line (one cut short included: it holds no
        message). Anything else would be read as one message with no separator."""
        super().check_format()
        with self.path.open("rb") as handle:
            head = handle.read(4096).lstrip(b"\r\n")
        if head and not head.startswith(b"From "):
            raise FormatError(
                self.path, "not an mbox archive: it does not begin with a 'From ' separator line"
            )

    def signature(self) -> str:
        """Size, modification time and a digest of the first and last blocks: hashing a
        multi-gigabyte archive before reading it would cost a second full read, yet an archive
        edited in place that kept its size and time (a mail client compacting it, a tool
        restoring the time) must not pass for unchanged. Re-reading an unchanged archive only
        repeats work: exchanges are stored once."""
        stat = self.path.stat()
        sha = hashlib.sha256()
        with self.path.open("rb") as handle:
            sha.update(handle.read(_SIGNED_BYTES))
            if stat.st_size > 2 * _SIGNED_BYTES:
                handle.seek(-_SIGNED_BYTES, os.SEEK_END)
            sha.update(handle.read(_SIGNED_BYTES))
        return f"size={stat.st_size};mtime_ns={stat.st_mtime_ns};ends={sha.hexdigest()[:32]}"

    def _folder(self) -> tuple[frozenset[str], bool]:
        role = folder_role(self.path.name)
        return (frozenset({role}) if role else frozenset()), role == "drafts"

    def batches(self, policy: MailPolicy, *, infer: bool = False) -> Iterator[Batch]:
        labels, draft = self._folder()
        file = str(self.path)
        workers = min(_WORKERS, os.cpu_count() or 1)
        if self.path.stat().st_size < _PARALLEL_BYTES or workers < 2:
            for block in mbox_blocks(self.path):
                yield _block_batch(block, labels, draft, file, policy, self.name, infer)
            return
        # Each worker reads its own span of the file: the archive's gigabytes never pass
        # through this process, which only finds where spans end and stores what comes back.
        with worker_pool(workers) as pool:
            pending: deque[Future[Batch]] = deque()
            for start, stop in mbox_spans(self.path):
                pending.append(
                    pool.submit(
                        _span_batch, self.path, start, stop, labels, draft, policy, self.name, infer
                    )
                )
                if len(pending) >= _QUEUED * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()

    def _problems(self, problems: list[tuple[int, str, str, str]]) -> Iterator[Problem]:
        lines = line_numbers(self.path, [offset for offset, _, _, _ in problems])
        for (offset, _, reason, raw), line in zip(problems, lines, strict=True):
            yield Problem(
                file=str(self.path),
                line=line,
                raw=raw,
                reason=f"{reason} (message at byte {offset})",
            )


@dataclass(frozen=True, slots=True)
class Block:
    """A run of whole mbox messages: `data` starts at file offset `offset` with a separator
    line (unless `body_first`: the rest of a message too large to keep comes first)."""

    offset: int
    data: bytes
    body_first: bool = False


def _block_batch(
    block: Block,
    labels: frozenset[str],
    draft: bool,
    file: str,
    policy: MailPolicy,
    source: str,
    infer: bool,
) -> Batch:
    """`read_batch` of one block."""
    batch = read_batch(block_messages(block, labels, draft, file), policy, source, infer=infer)
    batch.end = block.offset + len(block.data)
    return batch


def _span_batch(
    path: Path,
    start: int,
    stop: int,
    labels: frozenset[str],
    draft: bool,
    policy: MailPolicy,
    source: str,
    infer: bool,
) -> Batch:
    """`read_batch` of the messages of path[start:stop] (what a worker process runs), its
    exchanges in the store's order (`HANDLE_ORDER`): sorted here, on every core, the runs
    cost little to merge where they are stored."""
    file = str(path)
    # A span of the usual size is read in one piece (one copy of its bytes, not the three of
    # growing a buffer block by block); one that a large message made longer is streamed, so
    # that a worker never holds much more than a span.
    whole = stop - start if stop - start <= _SPAN + _BLOCK else None
    raws = (
        raw
        for block in mbox_blocks(path, whole, start=start, stop=stop)
        for raw in block_messages(block, labels, draft, file)
    )
    batch = read_batch(raws, policy, source, infer=infer)
    batch.exchanges.sort(key=HANDLE_ORDER)
    batch.end = stop
    return batch


def mbox_spans(path: Path, span: int | None = None) -> Iterator[tuple[int, int]]:
    """An mbox file cut into spans of whole messages of about `span` bytes, as (start, stop)
    file offsets: every span but the first starts at a real separator line, found by reading a
    little where each span ends, not the file. `mbox_blocks` of each span, one after the other,
    find the messages `mbox_blocks` of the whole file finds."""
    span = span or _SPAN
    size = path.stat().st_size
    start = 0
    with path.open("rb") as handle:
        while start + span < size:
            cut = _separator_from(handle, start + span, size)
            if cut >= size:
                break
            yield start, cut
            start = cut
    yield start, size


def _separator_from(handle: BinaryIO, position: int, size: int) -> int:
    """Where the first real separator line at or after `position` starts, its line complete
    (`size` if none): a `From ` line that `_last_separator` would cut at."""
    base = position - 1  # the newline before a separator is read too
    handle.seek(base)
    data = handle.read(_PEEK)
    scan = 0
    while True:
        match = _SEPARATOR_START.search(data, scan)
        if match is None:
            if base + len(data) >= size or not (more := handle.read(_PEEK)):
                return size  # the end (or a file cut shorter while it is read)
            keep = len(data) - 5  # a "\nFrom " cut by the end of what was read
            base += keep
            data = data[keep:] + more
            scan = 0
            continue
        candidate = match.start() + 1
        # A separator line is short (the pattern allows 300 bytes of sender): with this much
        # after it, or the file's end, the line is whole if it is a separator at all.
        near_end = len(data) - candidate < 1024 and base + len(data) < size
        if near_end and (more := handle.read(_PEEK)):
            data += more
            continue
        if data.find(b"\n", candidate) >= 0 and _SEPARATOR_AT.match(data, candidate):
            return base + candidate
        scan = candidate


def mbox_blocks(
    path: Path,
    block: int | None = None,
    large_message: int = _LARGE,
    *,
    start: int = 0,
    stop: int | None = None,
) -> Iterator[Block]:
    """An mbox file cut into blocks of whole messages, streamed: never more than a block and
    the message being read in memory. A message larger than `large_message` keeps only its
    headers; the rest of its body is read past. FormatError if the file is not an mbox.
    With `start` and `stop`, only path[start:stop], a span of `mbox_spans`."""
    block = block or _BLOCK
    with path.open("rb") as handle:
        left = (path.stat().st_size if stop is None else stop) - start

        def read() -> bytes:
            nonlocal left
            data = handle.read(min(block, left)) if left > 0 else b""
            left -= len(data)
            return data

        handle.seek(start)
        buffer = read()
        skipped = 0
        if start == 0:
            skipped = len(buffer) - len(buffer.lstrip(b"\r\n"))
            # The first line is a separator whatever its date looks like (some tools cut it
            # short).
            if not buffer.startswith(b"From ", skipped):
                raise FormatError(path, "not an mbox file: it does not start with a `From ` line")
        buffer = buffer[skipped:]
        base = start + skipped  # the file offset of buffer[0]
        body_first = False  # buffer starts inside a huge message whose headers went out
        while True:
            chunk = read()
            buffer += chunk
            cut = _last_separator(buffer) if chunk else len(buffer)
            if cut > 0:
                if buffer:
                    yield Block(base, buffer[:cut], body_first)
                base += cut
                buffer = buffer[cut:]
                body_first = False
            elif len(buffer) > large_message:
                if not body_first:
                    head_end = _head_end(buffer, 0)
                    if head_end < 0 and len(buffer) <= 4 * large_message:
                        continue  # its headers are not all in yet
                    stop = head_end if head_end >= 0 else max(0, buffer.find(b"\n"))
                    yield Block(base, buffer[:stop] + b"\n\n")
                    body_first = True
                # Keep the end, where a separator line may have begun.
                keep = len(buffer) - 8
                begun = buffer.rfind(b"\nFrom ")
                if begun >= 0 and buffer.find(b"\n", begun + 1) < 0:
                    keep = min(keep, begun)
                base += keep
                buffer = buffer[keep:]
            if not chunk:
                return


def _last_separator(buffer: bytes) -> int:
    """Where the last real separator line of `buffer` starts (after its first byte, with its
    line complete); 0 if there is none."""
    position = len(buffer)
    while True:
        index = buffer.rfind(b"\nFrom ", 0, position)
        if index < 0:
            return 0
        candidate = index + 1
        if buffer.find(b"\n", candidate) >= 0 and _SEPARATOR_AT.match(buffer, candidate):
            return candidate
        position = index


def block_messages(
    block: Block, labels: frozenset[str], draft: bool, file: str
) -> Iterator[RawMessage]:
    """The messages of a block, each with its separator line and header block."""
    data = block.data
    starts: list[int] = [] if block.body_first else [0]
    scan = 0
    while True:
        match = _SEPARATOR_START.search(data, scan)
        if match is None:
            break
        candidate = match.start() + 1
        if _SEPARATOR_AT.match(data, candidate) is not None:
            starts.append(candidate)
        scan = candidate
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(data)
        line_end = data.find(b"\n", start, end)
        separator = data[start : line_end if line_end >= 0 else end].rstrip(b"\r")
        yield RawMessage(
            _head(data, start, end),
            block.offset + start,
            separator,
            labels,
            draft,
            file,
            block.offset + end,
        )


def split_mbox(
    path: Path, block: int | None = None, large_message: int = _LARGE
) -> Iterator[tuple[int, bytes, bytes]]:
    """(offset, separator line, header block) of each message of an mbox file, streamed.

    The header block starts with the newline that ends the separator line, so that every
    header sits after a newline. Line ends may be LF, CRLF or mixed; the last message may lack
    its final newline or be cut short.
    """
    for piece in mbox_blocks(path, block, large_message):
        for raw in block_messages(piece, frozenset(), False, str(path)):
            yield raw.offset, raw.separator, raw.head


def _head_end(buffer: bytes, start: int) -> int:
    """Where the headers of the message at `start` end (-1: not within the buffer)."""
    sep_end = buffer.find(b"\n", start)
    if sep_end < 0:
        return -1
    match = _HEAD_END.search(buffer, sep_end)
    return match.start() if match is not None else -1


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
    head = b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(65536):
            head += chunk
            match = _HEAD_END.search(head)
            if match is not None:
                head = head[: match.start()]
                break
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

    @cached_property
    def _files(self) -> list[tuple[Path, frozenset[str], str]]:
        """(file, folder labels, Maildir flags) of every message, in a stable order (the
        folder is walked once per import)."""
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

    def check_format(self) -> None:
        if not (self.path.is_dir() and is_mail_folder(self.path)):
            raise FormatError(
                self.path, "not a mail folder (no cur/ and new/, no .eml files in it)"
            )

    def size(self) -> int:
        return sum(f.stat().st_size for f, _, _ in self._files)

    def signature(self) -> str:
        """Names (without Maildir flags) and sizes: a message file never changes in place."""
        sha = hashlib.sha256()
        for file, _, _ in self._files:
            sha.update(f"{file.name.partition(':2,')[0]}\0{file.stat().st_size}\n".encode())
        return sha.hexdigest()

    def messages(self) -> Iterator[RawMessage]:
        done = 0
        for file, labels, flags in self._files:
            raw = read_message_file(file, labels, flags)
            done += file.stat().st_size
            yield RawMessage(raw.head, 0, b"", raw.labels, raw.draft, raw.file, done)


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
