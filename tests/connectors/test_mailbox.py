"""Mail archives: mbox framing traps, Takeout labels, Maildir and .eml folders, inference of the
user's own addresses, and the noise rules as an import applies them."""

from __future__ import annotations

import signal
from collections import Counter
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest

from connectors import detect, expand, mailbox
from connectors.base import ReadOptions
from connectors.mailbox import EmlConnector, MailFolderConnector, MboxConnector, split_mbox
from pipeline.errors import FormatError
from pipeline.mail import BULK, CHAT, CROWD, DRAFT, IGNORED, ROLE, SPAM, TRASH, MailPolicy
from pipeline.model import Checkpoint, Interaction, Problem, Skipped
from tests.connectors.contract import FileContract
from tests.helpers import message, unpacked

ME = MailPolicy(me=frozenset({"me@example.com"}))


def read(path: Path, policy: MailPolicy = ME) -> list[object]:
    return unpacked(detect(path)(path, ReadOptions(mail=policy)).extract(None))


def exchanges(records: list[object]) -> list[tuple[str, str, str]]:
    return [
        (r.direction, r.counterpart.value, r.at.isoformat())
        for r in records
        if isinstance(r, Interaction)
    ]


def skipped(records: list[object]) -> Counter[str]:
    """How many messages each rule skipped."""
    found: Counter[str] = Counter()
    for record in records:
        if isinstance(record, Skipped):
            found[record.reason] += record.count
    return found


def test_sent_mail_is_outbound_to_every_recipient_received_mail_inbound_from_the_sender(
    tmp_path: Path,
) -> None:
    path = tmp_path / "All mail.mbox"
    path.write_text(
        message(
            sender="Me <me@example.com>",
            to="Ann Lee <ann@example.com>, bob@example.com",
            labels="Sent",
            extra="Cc: Carol <CAROL@Example.com>\nBcc: dan@example.com",
        )
        + message(
            sender="Eve <eve@example.com>",
            to="me@example.com, frank@example.com",
            mid="<m2@example.com>",
            labels="Inbox,Important",
        ),
        encoding="utf-8",
    )
    records = read(path)
    at = "2024-03-04T11:20:34+00:00"
    assert exchanges(records) == [
        ("outbound", "ann@example.com", at),
        ("outbound", "bob@example.com", at),
        ("outbound", "carol@example.com", at),
        ("outbound", "dan@example.com", at),
        # Frank was only a co-recipient: not an exchange with the user.
        ("inbound", "eve@example.com", at),
    ]
    assert isinstance(records[-1], Checkpoint)


def test_a_body_line_starting_with_from_is_not_a_new_message(tmp_path: Path) -> None:
    body = (
        "From the desk of Ann:\n"
        ">From here on, quoted.\n"
        "From 1790123456789012345@xxx is not a date\n"
        "\n"
        "From Ann, with thanks\n"
    )
    path = tmp_path / "a.mbox"
    path.write_text(
        message(body=body) + message(mid="<m2@example.com>", sender="bob@example.com"),
        encoding="utf-8",
    )
    framed = list(split_mbox(path))
    assert len(framed) == 2
    assert [e[1] for e in exchanges(read(path))] == ["ann@example.com", "bob@example.com"]


def test_rfc2047_names_decode_and_addresses_compare_lowercased(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_text(
        message(sender="=?UTF-8?Q?Jos=C3=A9_Mart=C3=ADnez?= <Jose@Example.ES>")
        + message(sender="=?ISO-8859-1?Q?Andr=E9_M=FCller?= <andre@example.de>", mid="<2@x>")
        + message(sender="=?UTF-8?B?w4lsb2RpZSBEdXBvbnQ=?= <elodie@example.fr>", mid="<3@x>")
        + message(sender="=?iso-8859-1?b?SvhybiBTdPh5bGVu?= <jorn@example.no>", mid="<4@x>")
        + message(sender='"Roe, Jane" <jane@example.com>', mid="<5@x>"),
        encoding="utf-8",
    )
    found = [(r.counterpart.value, r.name) for r in read(path) if isinstance(r, Interaction)]
    assert found == [
        ("jose@example.es", "José Martínez"),
        ("andre@example.de", "André Müller"),
        ("elodie@example.fr", "Élodie Dupont"),
        ("jorn@example.no", "Jørn Støylen"),
        ("jane@example.com", "Jane Roe"),
    ]


@pytest.mark.parametrize(
    "date",
    [
        "Wed, 15 Dec 2010    59:10 -0500",
        "Pn, 29 paX 2007 21:13:00 +0100",
        "Tue, 12 Oct 2010 16:21:05 H0500",
        "",
    ],
)
def test_a_broken_date_falls_back_to_received_never_to_a_naive_datetime(
    tmp_path: Path, date: str
) -> None:
    path = tmp_path / "a.mbox"
    path.write_text(message(date=date), encoding="utf-8")
    [record] = [r for r in read(path) if isinstance(r, Interaction)]
    assert record.at == datetime(2024, 3, 4, 11, 20, 35, tzinfo=UTC)  # the Received header


def test_without_received_the_separator_date_else_the_quarantine_with_line_and_offset(
    tmp_path: Path,
) -> None:
    def bare(separator: str, mid: str) -> str:
        return (
            f"{separator}\nDate: Wed, 15 Dec 2010    59:10 -0500\nFrom: ann@example.com\n"
            f"To: me@example.com\nMessage-ID: {mid}\nSubject: secret\n\nbody\n\n"
        )

    first = bare("From 17@xxx Tue Mar 05 08:00:00 +0000 2024", "<a@x>")
    path = tmp_path / "a.mbox"
    # A separator line whose date cannot be read only frames the message.
    path.write_text(first + bare("From ann@example.com  Mon Jan  1 00:00:00 1900", "<b@x>"))
    records = read(path)
    assert exchanges(records) == [("inbound", "ann@example.com", "2024-03-05T08:00:00+00:00")]
    [problem] = [r for r in records if isinstance(r, Problem)]
    assert problem.file == str(path)
    assert problem.line == 10
    assert f"byte {len(first.encode())}" in problem.reason
    assert "59:10" in problem.reason
    assert "secret" not in problem.raw and "body" not in problem.raw
    assert "From: ann@example.com" in problem.raw


def test_mixed_line_ends_no_final_newline_and_a_truncated_last_message(tmp_path: Path) -> None:
    crlf = message(mid="<1@x>").replace("\n", "\r\n")
    lf = message(mid="<2@x>", sender="bob@example.com")
    # The last message stops in the middle of its headers, without a newline.
    cut = message(mid="<3@x>", sender="carol@example.com").split("Subject:")[0].rstrip("\n")
    path = tmp_path / "a.mbox"
    path.write_bytes((crlf + lf + cut).encode())
    assert [e[1] for e in exchanges(read(path))] == [
        "ann@example.com",
        "bob@example.com",
        "carol@example.com",
    ]


def test_framing_survives_any_block_size_and_skips_huge_bodies(tmp_path: Path) -> None:
    text = "".join(
        message(mid=f"<{i}@x>", sender=f"p{i}@example.com", body="x" * (i * 37) + "\n")
        for i in range(40)
    )
    path = tmp_path / "a.mbox"
    path.write_text(text, encoding="utf-8")
    whole = list(split_mbox(path))
    assert len(whole) == 40
    for block in (7, 64, 100, 333, 4096):
        assert list(split_mbox(path, block=block, large_message=1 << 30)) == whole
    # A message larger than `large_message` keeps its headers and offset, not its body.
    assert list(split_mbox(path, block=50, large_message=200)) == whole


def _tricky_mbox(path: Path) -> None:
    """Messages of many sizes, CRLF and LF, body lines that look like separators, a message
    whose date cannot be read at all, one with an invalid address, spam and a no-reply sender,
    no final newline."""
    body = "From the desk of Ann:\n>From here on\nFrom 17@xxx is not a date\n\nFrom Ann\n"
    parts = []
    for i in range(60):
        text = message(
            mid=f"<{i}@x>",
            sender="noreply@shop.example" if i == 20 else f"p{i % 7}@example.com",
            body=body * (i % 5) + "y" * (i * 53) + "\n",
            extra="Cc: jane.@example.com" if i == 40 else "",
            labels="Spam" if i == 12 else "",
        )
        if i == 31:
            text = (
                "From ann@example.com Mon Jan  1 00:00:00 1900\nDate: someday\n"
                "From: ann@example.com\nTo: me@example.com\nMessage-ID: <31@x>\n\nbody\n\n"
            )
        parts.append(text.replace("\n", "\r\n") if i % 3 == 0 else text)
    path.write_bytes("".join(parts).rstrip("\n").encode())


@pytest.mark.parametrize("span", [40, 333, 1000, 5000])
@pytest.mark.parametrize("peek", [7, 64, 1 << 16])
def test_spans_cut_at_separators_so_workers_find_the_same_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, span: int, peek: int
) -> None:
    path = tmp_path / "a.mbox"
    _tricky_mbox(path)
    monkeypatch.setattr(mailbox, "_PEEK", peek)
    spans = list(mailbox.mbox_spans(path, span))
    assert spans[0][0] == 0 and spans[-1][1] == path.stat().st_size
    assert all(stop == start for (_, stop), (start, _) in pairwise(spans))
    found = [
        (raw.offset, raw.separator, raw.head)
        for start, stop in spans
        for block in mailbox.mbox_blocks(path, start=start, stop=stop)
        for raw in mailbox.block_messages(block, frozenset(), False, str(path))
    ]
    whole = list(split_mbox(path))
    assert len(whole) == 60
    assert found == whole


def test_a_span_end_is_found_even_when_the_file_is_cut_shorter_while_it_is_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.mbox"
    _tricky_mbox(path)
    size = path.stat().st_size

    def waited_too_long(*_: object) -> None:
        raise TimeoutError("still waiting for bytes the file no longer has")

    before = signal.signal(signal.SIGALRM, waited_too_long)
    signal.alarm(10)  # a loop waiting for bytes that never come fails rather than hangs
    try:
        with path.open("rb") as handle:
            # Its size was taken before the file lost its last messages.
            assert mailbox._separator_from(handle, size - 50, size + 5000) == size + 5000
            assert mailbox._separator_from(handle, 100, size + 5000) < size
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)


@pytest.mark.parametrize("block", [4 << 20, 256])  # spans read whole; spans streamed
def test_workers_reading_spans_import_what_one_process_imports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: int
) -> None:
    path = tmp_path / "a.mbox"
    _tricky_mbox(path)

    def outcome() -> tuple[list[str], list[str], Counter[str]]:
        records = read(path)
        met = sorted(repr(r) for r in records if isinstance(r, Interaction))
        problems = sorted(repr(r) for r in records if isinstance(r, Problem))
        return met, problems, skipped(records)  # skips are counted a batch at a time

    alone = outcome()
    monkeypatch.setattr(mailbox, "_PARALLEL_BYTES", 1)
    monkeypatch.setattr(mailbox, "_SPAN", 700)
    monkeypatch.setattr(mailbox, "_BLOCK", block)
    assert len(list(mailbox.mbox_spans(path))) > 10
    shared = outcome()
    assert shared == alone
    assert len(alone[0]) == 57 and any("jane.@example.com" in r for r in alone[1])
    assert alone[2] == Counter({SPAM: 1, ROLE: 1})
    assert any("unreadable Date" in r for r in alone[1])


def test_takeout_labels_drafts_bulk_roles_and_crowds_are_counted_not_recorded(
    tmp_path: Path,
) -> None:
    many = ", ".join(f"p{i}@example.com" for i in range(21))
    parts = [
        message(mid="<1@x>", labels="Spam"),
        message(mid="<2@x>", labels="Trash,Opened"),
        message(mid="<3@x>", labels="Chat"),
        message(mid="<4@x>", labels="Draft", sender="me@example.com", to="ann@example.com"),
        message(mid="<5@x>", extra="List-Id: <team.lists.example.com>"),
        message(mid="<6@x>", extra="List-Unsubscribe: <mailto:u@example.com>"),
        message(mid="<7@x>", extra="Precedence: bulk"),
        message(mid="<8@x>", extra="Auto-Submitted: auto-replied"),
        message(mid="<9@x>", sender="No Reply <noreply@shop.example>"),
        message(mid="<10@x>", sender="mailer-daemon@example.com"),
        message(mid="<11@x>", to=f"me@example.com, {many}"),
        message(mid="<12@x>", sender="me@example.com", to=many, labels="Sent"),
        message(mid="<13@x>", sender="spam@ignored.example"),
        message(mid="<14@x>", sender="x@mail.ignored.example"),
        message(mid="<15@x>", sender="boss@example.com"),
        # Auto-Submitted: no is a person writing; 20 recipients besides the user is not a crowd.
        message(mid="<16@x>", extra="Auto-Submitted: no", to=", ".join(many.split(", ")[:20])),
    ]
    path = tmp_path / "a.mbox"
    path.write_text("".join(parts), encoding="utf-8")
    policy = MailPolicy(
        me=frozenset({"me@example.com"}), ignore=("ignored.example", "boss@example.com")
    )
    records = read(path, policy)
    assert skipped(records) == Counter(
        {SPAM: 1, TRASH: 1, CHAT: 1, DRAFT: 1, BULK: 4, ROLE: 2, CROWD: 2, IGNORED: 3}
    )
    assert [e[1] for e in exchanges(records)] == ["ann@example.com"]
    # The limit is a setting.
    relaxed = MailPolicy(me=frozenset({"me@example.com"}), max_recipients=30)
    assert CROWD not in skipped(read(path, relaxed))


def test_the_same_message_twice_has_one_key_with_or_without_message_id(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_text(
        message(mid="<dup@x>", labels="Inbox")
        + message(mid="<dup@x>", labels="Important")
        + message(mid="", labels="Inbox")
        + message(mid="", labels="Archived"),
        encoding="utf-8",
    )
    keys = [r.key for r in read(path) if isinstance(r, Interaction)]
    assert keys[0] == keys[1] == "mid:dup@x"
    assert keys[2] == keys[3] and keys[2].startswith("hdr:")


def test_me_is_inferred_from_the_sent_label_and_said(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_text(
        message(mid="<1@x>", sender="Me <ME@example.com>", to="ann@example.com", labels="Sent")
        + message(mid="<2@x>", sender="ann@example.com", to="me@example.com", labels="Inbox")
        # Sent from an alias by another client, without the label: still the user's.
        + message(mid="<3@x>", sender="me@example.com", to="bob@example.com"),
        encoding="utf-8",
    )
    connector = MboxConnector(path, ReadOptions())
    records = unpacked(connector.extract(None))
    assert exchanges(records) == [
        ("outbound", "ann@example.com", "2024-03-04T11:20:34+00:00"),
        ("inbound", "ann@example.com", "2024-03-04T11:20:34+00:00"),
        ("outbound", "bob@example.com", "2024-03-04T11:20:34+00:00"),
    ]
    assert any("me@example.com" in note and "inferred" in note for note in connector.notes)


def test_progress_is_reported_in_bytes_and_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("connectors.mailbox._BLOCK", 1 << 16)  # a report per block read
    path = tmp_path / "a.mbox"
    path.write_text("".join(message(mid=f"<{i}@x>") for i in range(5000)), encoding="utf-8")
    connector = MboxConnector(path, ReadOptions(mail=ME))
    seen: list[tuple[int, int]] = []
    connector.progress = lambda done, count: seen.append((done, count))
    list(connector.extract(None))
    size = path.stat().st_size
    assert seen[-1] == (size, 5000)
    assert seen[0][1] < 5000 and 0 < seen[0][0] < size
    # Without `me`, a first pass infers it: the bar covers both passes, to the end.
    inferring = MboxConnector(path, ReadOptions())
    assert inferring.total_bytes() == 2 * size
    seen.clear()
    inferring.progress = lambda done, count: seen.append((done, count))
    list(inferring.extract(None))
    assert seen[-1] == (2 * size, 5000)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_maildir_with_sent_folder_and_flags_is_one_source(tmp_path: Path) -> None:
    root = tmp_path / "Maildir"
    for folder in (root, root / ".Sent", root / ".Drafts"):
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True)
    (root / "cur" / "1.host:2,S").write_text(message(mid="<1@x>").split("\n", 1)[1])
    (root / "new" / "2.host").write_text(message(mid="<2@x>", sender="bob@example.com"))
    (root / "cur" / "3.host:2,ST").write_text(message(mid="<3@x>", sender="carol@example.com"))
    (root / ".Sent" / "cur" / "4.host:2,S").write_text(
        message(mid="<4@x>", sender="me@example.com", to="dan@example.com")
    )
    (root / ".Drafts" / "cur" / "5.host:2,D").write_text(
        message(mid="<5@x>", sender="me@example.com", to="erin@example.com")
    )
    named, found = expand([root])
    assert named == [root] and found == []
    assert detect(root) is MailFolderConnector
    connector = MailFolderConnector(root, ReadOptions())
    records = unpacked(connector.extract(None))
    assert sorted(e[:2] for e in exchanges(records)) == [
        ("inbound", "ann@example.com"),
        ("inbound", "bob@example.com"),
        ("outbound", "dan@example.com"),
    ]
    assert skipped(records) == Counter({DRAFT: 1, TRASH: 1})
    # Inferred from the Sent folder.
    assert any("me@example.com" in note for note in connector.notes)
    # Reading the same folder again is recognized as unchanged.
    assert list(connector.extract(records[-1].cursor)) == [records[-1]]  # type: ignore[union-attr]


def test_a_folder_of_eml_files_and_a_single_eml(tmp_path: Path) -> None:
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "a.eml").write_text(message(mid="<1@x>").split("\n", 1)[1])
    (folder / "b.eml").write_text(message(mid="<2@x>", sender="bob@example.com").split("\n", 1)[1])
    assert detect(folder) is MailFolderConnector
    assert [e[1] for e in exchanges(read(folder))] == ["ann@example.com", "bob@example.com"]
    assert detect(folder / "a.eml") is EmlConnector
    assert [e[1] for e in exchanges(read(folder / "a.eml"))] == ["ann@example.com"]


def test_a_mailing_list_archive_address_written_with_at_is_an_address(tmp_path: Path) -> None:
    path = tmp_path / "list.mbox"
    # Pipermail archives write the sender as "jane at example.com (Jane Roe)".
    path.write_text(
        message(
            sender="jane at example.com (Jane Roe)",
            separator="From jane at example.com  Mon Mar  4 11:20:34 2024",
        ),
        encoding="utf-8",
    )
    [record] = [r for r in read(path) if isinstance(r, Interaction)]
    assert (record.counterpart.value, record.name) == ("jane@example.com", "Jane Roe")


class TestMboxContract(FileContract):
    format = "mbox"


class TestEmlContract(FileContract):
    format = "eml"
    single_record = True


class TestMaildirContract(FileContract):
    format = "maildir"


def test_a_date_out_of_range_falls_back_on_received_and_costs_nothing_else(
    tmp_path: Path,
) -> None:
    path = tmp_path / "a.mbox"
    forged = message(date="Fri, 31 Dec 9999 23:59:59 -2359", mid="<forged@x>")
    path.write_text(message() + forged + message(date="Sat, 01 Jan 1000 00:00:00 +0000"))
    records = read(path)
    # The Received header's date stands in for the forged one; the file is read whole.
    assert len(exchanges(records)) == 3
    assert all(at.startswith("2024-03-04") for _, _, at in exchanges(records))


def test_an_mbox_edited_in_place_is_read_again(tmp_path: Path) -> None:
    import os

    path = tmp_path / "a.mbox"
    path.write_text(message(sender="Ann <ann@example.com>"))
    first = MboxConnector(path, ReadOptions(mail=ME))
    cursor = [r for r in first.extract(None) if isinstance(r, Checkpoint)][-1].cursor
    stat = path.stat()
    path.write_text(message(sender="Bea <bea@example.com>"))  # the same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same time
    again = unpacked(MboxConnector(path, ReadOptions(mail=ME)).extract(cursor))
    assert [e[1] for e in exchanges(again)] == ["bea@example.com"]


def test_a_file_without_separator_lines_is_not_an_mbox(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_text(message().split("\n", 1)[1])  # a message, but no `From ` line
    with pytest.raises(FormatError, match="does not begin with a 'From ' separator line"):
        list(MboxConnector(path).extract(None))


def test_an_invalid_address_is_a_problem_and_the_message_still_counts(tmp_path: Path) -> None:
    path = tmp_path / "a.mbox"
    path.write_text(message(sender="me@example.com", to="bo@example.com, jane.@x", labels="Sent"))
    records = read(path)
    assert [e[1] for e in exchanges(records)] == ["bo@example.com"]
    [problem] = [r for r in records if isinstance(r, Problem)]
    assert "not a valid e-mail address: jane.@x" in problem.reason
