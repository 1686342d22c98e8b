"""Every message of ../shared/corpus/mail reads as a person reading its headers would read it.

The expectations were worked out by hand from the raw bytes (dates converted to UTC; where the
Date header cannot be trusted, the topmost Received header's date).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from connectors import detect
from connectors.mailbox import EmlConnector, MboxConnector, split_mbox
from connectors.mailparse import parse_date
from pipeline.mail import BULK, ROLE, SELF
from pipeline.model import Checkpoint, Interaction, Problem, Skipped
from tests.helpers import CORPUS, unpacked

#: Every test here reads ../shared/corpus (skipped without it, an error under CI).
pytestmark = pytest.mark.usefixtures("corpus")

MAIL = CORPUS / "mail"
EML = MAIL / "mikel-mail" / "spec" / "fixtures" / "emails"
NO_DATE = "no date"

#: file -> (sender, UTC instant or NO_DATE, skip reason or "") for every .eml of the corpus.
EXPECTED: dict[str, tuple[str, str, str]] = {
    # Date "<HR>" (a fold): the topmost Received, not the older hop whose clock was off.
    "error_emails/bad_date_header.eml": ("infoz@reactive-outpost.com", "2010-12-11T03:20:19", BULK),
    # Hour 59: parsedate_tz accepts it and lands 2.4 days off; the Received date is right.
    "error_emails/bad_date_header2.eml": ("enews@free-quilting.com", "2010-12-15T06:59:10", ""),
    "error_emails/bad_encoded_subject.eml": ("", NO_DATE, ""),
    "error_emails/bad_subject.eml": ("carol@mysurvey.com", "2010-12-15T17:21:20", ""),
    "error_emails/cant_parse_from.eml": ("news@insideapple.apple.com", "2009-06-12T06:25:02", ROLE),
    "error_emails/content_transfer_encoding_7-bit.eml": (
        "discovercard_newsflash@discover.qrs1.net",
        "2002-01-10T02:47:50",
        "",
    ),
    # No Date; the misspelt "Recieved:" above the first real Received is not a Received.
    "error_emails/content_transfer_encoding_empty.eml": (
        "3712f2@msa.hinet.net",
        "2001-11-14T03:07:21",
        "",
    ),
    "error_emails/content_transfer_encoding_plain.eml": (
        "baocqccyw@hq.lindsayelec.com",
        "2005-03-28T01:11:59",
        "",
    ),
    "error_emails/content_transfer_encoding_qp_with_space.eml": (
        "fyouizjnp@swissonline.ch",
        "2004-11-07T21:23:56",
        "",
    ),
    "error_emails/content_transfer_encoding_spam.eml": (
        "shechem@poetrix.com",
        "2001-08-19T13:31:03",
        "",
    ),
    "error_emails/content_transfer_encoding_text-html.eml": (
        "abhijit.862153drinnan@datavalet.com",
        "2005-05-06T11:55:01",
        "",
    ),
    # An offset of -04:59 is odd but well formed.
    "error_emails/content_transfer_encoding_with_8bits.eml": (
        "announcements@provantage.com",
        "2001-12-04T22:10:25",
        "",
    ),
    "error_emails/content_transfer_encoding_with_semi_colon.eml": (
        "nsukijamq@morozstudio.tk",
        "2005-06-30T04:57:10",
        "",
    ),
    "error_emails/content_transfer_encoding_x_uuencode.eml": (
        "lpeters@pacifier.com",
        "2002-01-10T21:59:53",
        "",
    ),
    "error_emails/empty_group_lists.eml": ("ceciledwards@sbcglobal.net", "2009-12-03T18:50:22", ""),
    # A List-Id without angle brackets is still list mail.
    "error_emails/empty_in_reply_to.eml": ("ak@g.com", "2009-09-19T15:49:36", BULK),
    "error_emails/encoding_madness.eml": (
        "no-reply@crm.el-example.org",
        "2010-09-22T07:30:53",
        ROLE,
    ),
    "error_emails/header_fields_with_empty_values.eml": (
        "jorn@prikkprikkprikk.no",
        "2009-10-30T19:07:42",
        "",
    ),
    "error_emails/invalid_subject_characters.eml": ("info@formacaofrenetik.info", NO_DATE, ""),
    "error_emails/missing_body.eml": ("redacted@attglobal.net", "2001-11-27T23:02:35", ""),
    # From and To are one address, which the import takes to be the user's: a note to self.
    "error_emails/missing_content_disposition.eml": (
        "redacted@example.com",
        "2002-01-22T14:35:28",
        SELF,
    ),
    "error_emails/multiple_content_types.eml": ("redacted@flashmail.net", NO_DATE, ""),
    "error_emails/multiple_invalid_content_dispositions.eml": (
        "redacted@flashmail.net",
        NO_DATE,
        "",
    ),
    "error_emails/multiple_references_with_one_invalid.eml": (
        "redacted@flashmail.net",
        NO_DATE,
        "",
    ),
    "error_emails/must_supply_encoding.eml": (
        "info@here2there-travelers-msgs.net",
        "2010-11-14T17:41:44",
        ROLE,
    ),
    "error_emails/new_line_in_to_header.eml": ("l@gcn-example.com", "2010-10-13T14:53:04", ""),
    # Zone "H0500" is no zone: the Received date, not a silent UTC or a naive datetime.
    "error_emails/trademark_character_in_subject.eml": (
        "j@yahoo-example.com",
        "2010-10-12T20:20:24",
        "",
    ),
    "error_emails/weird_to_header.eml": ("anonymous@i.tp.host", "2010-10-15T03:25:06", ""),
    "multi_charset/japanese.eml": ("raasdnil@gmail.com", NO_DATE, ""),
    "multi_charset/japanese_attachment.eml": ("raasdnil@gmail.com", "2009-10-16T12:39:34", SELF),
    "multi_charset/japanese_attachment_long_name.eml": (
        "mikel@test.lindsaar.net",
        "2009-10-30T08:11:02",
        "",
    ),
    "multi_charset/japanese_iso_2022.eml": ("raasdnil@gmail.com", NO_DATE, ""),
    "multi_charset/japanese_shift_jis.eml": ("xxxxxxx@docomo.ne.jp", "2014-05-28T08:18:19", ""),
    "multi_charset/ks_c_5601-1987.eml": ("from@example.com", "2014-05-28T08:18:19", ""),
    "plain_emails/raw_email_quoted_with_0d0a.eml": ("foo@example.com", "2005-06-06T20:21:22", ""),
    # Starts with an mbox From_ line dated 2005: the Date header (2008) wins.
    "plain_emails/raw_email_string_in_date_field.eml": (
        "mikel@me.com",
        "2008-09-20T17:04:30",
        "",
    ),
    # "Pn, 29 paX 2007": the Received date.
    "plain_emails/raw_email_with_bad_date.eml": (
        "subventive@vodtravel.com",
        "2007-11-05T09:17:37",
        "",
    ),
}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text + "+00:00")


def test_every_corpus_message_is_listed() -> None:
    on_disk = {str(p.relative_to(EML)) for p in EML.rglob("*.eml")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_corpus_message(relative: str) -> None:
    path = EML / relative
    sender, at, reason = EXPECTED[relative]
    connector = detect(path)
    # A saved message that starts with an mbox From_ line is a one-message mbox; either reads it.
    assert connector in (EmlConnector, MboxConnector)
    records = unpacked(connector(path).extract(None))
    assert isinstance(records[-1], Checkpoint)
    body = records[:-1]
    if at == NO_DATE:
        assert len(body) == 1 and isinstance(body[0], Problem)
        assert body[0].file == str(path)
        assert "Date" in body[0].reason
        assert "Subject" not in body[0].raw  # the quarantine never keeps a subject
        return
    if reason:
        assert body == [Skipped(reason)]
        return
    assert body, relative
    for record in body:
        assert isinstance(record, Interaction)
        # `me` is not configured; a saved message's recipient is taken to be the user.
        assert record.direction == "inbound"
        assert record.counterpart.value == sender
        assert record.at == _utc(at)
        assert record.at.tzinfo is not None


def test_encoded_and_raw_display_names_decode() -> None:
    names = {}
    for relative in (
        "error_emails/bad_subject.eml",  # encoded words folded over five lines
        "error_emails/header_fields_with_empty_values.eml",  # ISO-8859-1 Q
        "error_emails/must_supply_encoding.eml",  # raw 8-bit bytes
    ):
        path = EML / relative
        from connectors.mailbox import read_message_file
        from connectors.mailparse import message_from_headers

        message = message_from_headers(read_message_file(path, frozenset(), "").head)
        assert message.sender is not None
        names[relative] = message.sender.name
    assert names["error_emails/bad_subject.eml"] == "MySurvey.com & Carol Adams"
    assert names["error_emails/header_fields_with_empty_values.eml"] == "Jørn Støylen"
    assert names["error_emails/must_supply_encoding.eml"].startswith(
        "Biz Phone Systems from EclipseMediaOnline"
    )


def test_recipient_oddities() -> None:
    from connectors.mailbox import read_message_file
    from connectors.mailparse import message_from_headers

    def recipients(relative: str) -> list[str]:
        head = read_message_file(EML / relative, frozenset(), "").head
        message = message_from_headers(head)
        return [a.email for a in (*message.to, *message.cc, *message.bcc)]

    # A whitespace-only line inside a folded To neither ends the headers nor loses anyone.
    assert recipients("error_emails/new_line_in_to_header.eml")[-1] == "cc@c-l-example.com"
    assert len(recipients("error_emails/new_line_in_to_header.eml")) == 6
    # Groups and junk name no one; a "Comments: cc:" header is not Cc.
    assert recipients("error_emails/empty_group_lists.eml") == []
    assert recipients("error_emails/missing_body.eml") == []
    assert recipients("error_emails/content_transfer_encoding_x_uuencode.eml") == [
        "rrga-l@list.rtowest.org"
    ]
    assert recipients("error_emails/weird_to_header.eml") == [
        "user-example@aol.com",
        "e-s-a-s-2200@app.ar.com",
    ]


def test_the_three_broken_dates_of_the_issue_never_yield_naive_or_wrong_instants() -> None:
    assert parse_date("Wed, 15 Dec 2010    59:10 -0500") is None
    assert parse_date("Pn, 29 paX 2007 21:13:00 +0100") is None
    assert parse_date("Tue, 12 Oct 2010 16:21:05 H0500") is None
    assert parse_date("Tue, 12 Oct 2010 16:21:05") is None  # no zone at all
    assert parse_date("Wed, 9 Jan 2002 19:47:50 MST") == _utc("2002-01-10T02:47:50")


def test_mailman_archive_yields_its_two_list_messages() -> None:
    path = MAIL / "korylprince-mbox" / "test_data" / "0.mbox"
    assert MboxConnector.sniff(path.read_bytes(), path)
    framed = list(split_mbox(path))
    assert [offset for offset, _, _ in framed] == [0, 752]
    records = unpacked(MboxConnector(path).extract(None))
    # Both messages carry "Precedence: bulk": a list, not a relationship.
    assert records[:-1] == [Skipped(BULK, count=2)]


def test_a_truncated_separator_line_alone_is_no_message(tmp_path: Path) -> None:
    path = MAIL / "korylprince-mbox" / "test_data" / "1.mbox"
    records = unpacked(MboxConnector(path).extract(None))
    assert not [r for r in records if isinstance(r, Interaction | Problem)]
    assert isinstance(records[-1], Checkpoint)


def test_an_archive_of_the_corpus_messages_reads_the_same_cut_into_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The corpus's real messages (broken dates, bare CRs, odd headers) in one mbox, as a mail
    client appends them: the worker processes of a large archive, each reading its own span,
    find what one process reading it all finds."""
    from connectors import mailbox

    parts = []
    for path in sorted(MAIL.rglob("*.eml")):
        body = path.read_bytes().replace(b"\r\n", b"\n")
        body = b"\n".join(b">" + line if line.startswith(b"From ") else line
                          for line in body.split(b"\n"))  # fmt: skip
        parts.append(
            b"From MAILER-DAEMON Mon Jan  1 00:00:00 2024\n" + body.rstrip(b"\n") + b"\n\n"
        )
    archive = tmp_path / "corpus.mbox"
    archive.write_bytes(b"".join(parts))

    def outcome() -> tuple[list[str], list[str], Counter[str]]:
        records = unpacked(MboxConnector(archive).extract(None))
        met = sorted(repr(r) for r in records if isinstance(r, Interaction))
        problems = sorted(repr(r) for r in records if isinstance(r, Problem))
        skipped: Counter[str] = Counter()
        for r in records:
            if isinstance(r, Skipped):
                skipped[r.reason] += r.count
        return met, problems, skipped

    alone = outcome()
    assert len(list(split_mbox(archive))) == len(parts) == 37
    monkeypatch.setattr(mailbox, "_PARALLEL_BYTES", 1)
    for span in (1000, 5000):
        monkeypatch.setattr(mailbox, "_SPAN", span)
        assert len(list(mailbox.mbox_spans(archive))) > 5
        assert outcome() == alone
    assert alone[0] and alone[2], "the corpus's messages give exchanges and skips"
