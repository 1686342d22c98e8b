"""vCard edge cases the corpus does not cover, written as real clients write them."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from connectors import detect
from connectors.vcard import VCardConnector
from pipeline.errors import FormatError
from pipeline.model import Checkpoint, Contact, Contacts, Problem, Record, Skipped
from tests.connectors.contract import FileContract
from tests.helpers import run, unpacked


def read(tmp_path: Path, data: bytes, name: str = "cards.vcf") -> list[Record]:
    path = tmp_path / name
    path.write_bytes(data)
    return unpacked(VCardConnector(path).extract(None))


def contacts(found: list[Record]) -> list[Contact]:
    return [r for r in found if isinstance(r, Contact)]


def test_folded_lines_escapes_and_commas_in_names(tmp_path: Path) -> None:
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Doe\\, Jane\r\nN:Doe;Jane;;;\r\n"
        b"EMAIL;TYPE=INTERNET:Jane.Doe@\r\n Example.COM\r\nTEL;TYPE=CELL:(555) 010-0123\r\n"
        b"NOTE:line one\\nline two\\, with comma\r\nCATEGORIES:Clients,VIP\r\nEND:VCARD\r\n"
    )
    [card] = contacts(read(tmp_path, data))
    assert card.name == "Doe, Jane"
    assert card.emails == ("jane.doe@example.com",)
    assert card.phones == ("+15550100123",)
    assert card.notes == "line one\nline two, with comma"
    assert card.labels == ("Clients", "VIP")


def test_vcard21_quoted_printable_with_soft_breaks_and_legacy_charset(tmp_path: Path) -> None:
    data = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"FN;CHARSET=ISO-8859-1;ENCODING=QUOTED-PRINTABLE:Ren=E9e M=\r\n=FCller\r\n"
        b"TEL;CELL;PREF:+44 20 7946 0123\r\nEND:VCARD\r\n"
    )
    [card] = contacts(read(tmp_path, data))
    assert card.name == "Renée Müller"
    assert card.phones == ("+442079460123",)


def test_undeclared_legacy_bytes_fall_back_to_the_windows_code_page(tmp_path: Path) -> None:
    data = "BEGIN:VCARD\nVERSION:3.0\nFN:Zoë Çelik\nEND:VCARD\n".encode("cp1252")
    [card] = contacts(read(tmp_path, data))
    assert card.name == "Zoë Çelik"


def test_utf16_with_bom(tmp_path: Path) -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Łukasz Kowalski\r\nEMAIL:l@example.com\r\nEND:VCARD\r\n"
    )
    data = text.encode("utf-16")
    path = tmp_path / "u16.vcf"
    path.write_bytes(data)
    assert detect(path) is VCardConnector
    [card] = contacts(read(tmp_path, data))
    assert (card.name, card.emails) == ("Łukasz Kowalski", ("l@example.com",))


def test_cr_cr_lf_and_trailing_space_after_begin(tmp_path: Path) -> None:
    data = (
        b"BEGIN:VCARD \r\r\nVERSION:3.0\r\r\nFN:Bob\r\r\nEMAIL:bob@example.com\r\r\nEND:VCARD\r\r\n"
    )
    [card] = contacts(read(tmp_path, data))
    assert (card.name, card.emails) == ("Bob", ("bob@example.com",))


def test_a_bad_photo_costs_the_photo_not_the_later_cards(tmp_path: Path) -> None:
    data = (
        b"BEGIN:VCARD\nVERSION:2.1\nFN:First\nPHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQ:!!notbase64\n"
        b"AAAAAAAAAAAAAAAA\nQUJDREVGRw=\n\nEMAIL:first@example.com\nEND:VCARD\n"
        b"BEGIN:VCARD\nVERSION:2.1\nFN:Second\nEND:VCARD\n"
    )
    found = contacts(read(tmp_path, data))
    assert [(c.name, c.emails) for c in found] == [
        ("First", ("first@example.com",)),
        ("Second", ()),
    ]


def test_group_cards_and_nameless_cards_are_skipped_and_counted(tmp_path: Path) -> None:
    data = (
        b"BEGIN:VCARD\nVERSION:3.0\nFN:Friends\nX-ADDRESSBOOKSERVER-KIND:group\nEND:VCARD\n"
        b"BEGIN:VCARD\nVERSION:4.0\nKIND:group\nFN:Team\nEND:VCARD\n"
        b"BEGIN:VCARD\nVERSION:3.0\nNOTE:nothing else\nEND:VCARD\n"
        b"BEGIN:VCARD\nVERSION:4.0\nEMAIL:mailto:only@example.com\nEND:VCARD\n"
    )
    found = read(tmp_path, data)
    assert [s.reason for s in found if isinstance(s, Skipped)] == [
        "group card (not a person)",
        "group card (not a person)",
        "card with no name, e-mail or phone",
    ]
    assert [c.name for c in contacts(found)] == ["only@example.com"]


def test_truncated_last_card_is_quarantined_not_stored_as_well(tmp_path: Path) -> None:
    # What a cut card holds may be cut mid-value (an address cut short): quarantined only.
    data = b"BEGIN:VCARD\nVERSION:3.0\nFN:Whole\nEND:VCARD\nBEGIN:VCARD\nVERSION:3.0\nFN:Cut"
    found = read(tmp_path, data)
    assert [c.name for c in contacts(found)] == ["Whole"]
    [problem] = [p for p in found if isinstance(p, Problem)]
    assert problem.line == 5
    assert "FN:Cut" in problem.raw


def test_same_name_twice_in_one_file_keeps_both(tmp_path: Path) -> None:
    data = b"BEGIN:VCARD\nFN:Alex Kim\nEND:VCARD\nBEGIN:VCARD\nFN:Alex Kim\nEND:VCARD\n"
    found = contacts(read(tmp_path, data))
    assert len({c.source_id for c in found}) == 2


def test_uid_is_the_stable_key(tmp_path: Path) -> None:
    data = b"BEGIN:VCARD\nUID:abc-1\nFN:A\nEMAIL:a@example.com\nEND:VCARD\n"
    [card] = contacts(read(tmp_path, data))
    assert card.source_id == "uid:abc-1"


def test_unchanged_file_yields_only_its_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "a.vcf"
    path.write_bytes(b"BEGIN:VCARD\nFN:A\nEND:VCARD\n")
    first = list(VCardConnector(path).extract(None))
    checkpoint = first[-1]
    assert isinstance(checkpoint, Checkpoint)
    assert list(VCardConnector(path).extract(checkpoint.cursor)) == [checkpoint]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "this is a PNG image"),
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"hello, this is not a card\n", "not a vCard file"),
    ],
)
def test_not_a_vcard_is_one_clear_error(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "contacts.vcf"
    path.write_bytes(data)
    with pytest.raises(FormatError, match=message):
        detect(path)


def test_folds_anywhere_in_a_wanted_property_and_none_read_out_of_another(
    tmp_path: Path,
) -> None:
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\n Lee\r\n"
        b"EMAIL;TYPE=INTER\r\n NET,HOME:ann@\r\n\texample.com\r\n"
        b"PHOTO;ENCODING=b;TYPE=JPEG:AAAA\r\n EMAIL:not-hers@example.com\r\n"
        b"TEL\r\n ;TYPE=CELL:+1 555 010\n 0123\r\nEND:VCARD\r\n"
    )
    [card] = contacts(read(tmp_path, data))
    assert card.name == "AnnLee"
    assert card.emails == ("ann@example.com",)
    assert card.phones == ("+15550100123",)


def test_parallel_parse_gives_exactly_the_sequential_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connectors.vcard as vcard

    cards = []
    for i in range(400):
        uid = f"UID:card-{i}\r\n" if i % 3 else ""
        # Every 50th card repeats a name without a UID, across block boundaries.
        name = f"Person {i % 50 if i % 7 == 0 else i}"
        cards.append(
            f"BEGIN:VCARD\r\nVERSION:3.0\r\n{uid}FN:{name}\r\nEMAIL:p{i}@example.com\r\n"
            f"TEL;TYPE=CELL:+1 555 010 {i:04d}\r\nNOTE:line one\\nline\\, two that is folded\r\n"
            " over a second line\r\nEND:VCARD\r\n"
        )
    cards.insert(200, "BEGIN:VCARD\r\nVERSION:3.0\r\nNOTE:nameless\r\nEND:VCARD\r\n")
    path = tmp_path / "many.vcf"
    path.write_text("".join(cards), newline="")
    sequential = list(VCardConnector(path).extract(None))
    # Blocks of 4 KB and a tiny threshold send this small file through the worker processes.
    monkeypatch.setattr(vcard, "_BLOCK", 4096)
    monkeypatch.setattr(vcard, "_PARALLEL_BYTES", 1)
    submitted: list[int] = []

    class CountingPool(ProcessPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
            submitted.append(1)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(vcard, "ProcessPoolExecutor", CountingPool)
    found = list(VCardConnector(path).extract(None))
    assert len(submitted) > 10
    # Their contacts come packed, a run of them at a time.
    assert any(isinstance(r, Contacts) and len(r.rows) > 1 for r in found)
    parallel = unpacked(found)
    assert parallel == sequential
    contacts_ = [r for r in parallel if isinstance(r, Contact)]
    assert len(contacts_) == 400
    assert len({c.source_id for c in contacts_}) == 400
    assert all(c.digest for c in contacts_)
    [skipped] = [r for r in parallel if isinstance(r, Skipped)]
    assert skipped.line == 1 + sum(card.count("\n") for card in cards[:200])


def test_a_book_parsed_by_workers_is_stored_as_one_read_alone_stores_it(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connectors.vcard as vcard

    cards = []
    for i in range(300):
        # Control characters (a terminal's escape sequence, a NUL past the first 16 KB, which
        # would tell a binary file) are cleaned before storing; the keys of cards with no UID
        # and no e-mail (their name) repeat across blocks.
        name = f"Person \x1b]0;x\x07{i}" if i % 40 == 0 else f"Person {i % 30}"
        note = "NOTE:a\x00b\r\n" if i in (260, 275) else ""
        reach = f"TEL:+1 555 010 {i:04d}" if i % 10 == 1 else f"EMAIL:p{i}@example.com"
        cards.append(
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:{name}\r\n{reach}\r\n"
            f"{note}CATEGORIES:Team {i % 3}\r\nEND:VCARD\r\n"
        )
    path = tmp_path / "book.vcf"
    path.write_text("".join(cards), newline="")
    assert run("import", str(path)).exit_code == 0
    alone = run("contacts", "--format", "csv").output
    assert "\x1b" not in alone and "Person ]0;x40" in alone and len(alone.splitlines()) == 301
    # Read again through the worker processes: every record is found unchanged.
    monkeypatch.setattr(vcard, "_BLOCK", 4096)
    monkeypatch.setattr(vcard, "_PARALLEL_BYTES", 1)
    again = run("import", "--force", str(path))
    assert again.exit_code == 0, again.output
    assert "0 new, 0 updated, 300 unchanged" in again.output
    assert run("contacts", "--format", "csv").output == alone
    # And into an empty store, the same people.
    monkeypatch.setenv("NETGARDEN_HOME", str(tmp_path / "other"))
    assert run("import", str(path)).exit_code == 0
    assert run("contacts", "--format", "csv").output == alone


def test_a_book_cut_short_while_workers_parse_it_is_one_clear_error(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connectors.vcard as vcard

    path = tmp_path / "book.vcf"
    path.write_bytes(b"".join(_cards(300)))
    monkeypatch.setattr(vcard, "_BLOCK", 4096)
    monkeypatch.setattr(vcard, "_PARALLEL_BYTES", 1)
    blocks = vcard._blocks

    def rewritten(stream):  # type: ignore[no-untyped-def]
        for part in blocks(stream):
            # Another program rewrites the file once its first block is read here.
            path.write_bytes(b"".join(_cards(3)))
            yield part

    monkeypatch.setattr(vcard, "_blocks", rewritten)
    result = run("import", str(path))
    assert result.exit_code == 1
    assert "changed while it was being read" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert len(run("contacts", "--format", "csv").output.splitlines()) == 1  # nobody stored


class TestContract(FileContract):
    format = "vcard"


def _cards(n: int) -> list[bytes]:
    card = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {0}\r\nEMAIL:p{0}@example.com\r\nEND:VCARD\r\n"
    return [card.format(i).encode() for i in range(n)]


@pytest.mark.parametrize(
    "broken",
    [
        b"",  # the END:VCARD line cut away
        b"END:VCARD \r\n",  # a trailing space: still an end
        b"END:VCRAD\r\n",  # a typo
        b"END:VCA\r\n",  # a line cut short
    ],
)
@pytest.mark.parametrize("parallel", [False, True])
def test_a_card_without_its_end_costs_that_card_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: bytes, parallel: bool
) -> None:
    from connectors import vcard

    if parallel:
        monkeypatch.setattr(vcard, "_BLOCK", 4096)
        monkeypatch.setattr(vcard, "_PARALLEL_BYTES", 1)
    cards = _cards(300)
    cards[100] = cards[100].replace(b"END:VCARD\r\n", broken)
    found = read(tmp_path, b"".join(cards))
    names = [c.name for c in contacts(found)]
    problems = [r for r in found if isinstance(r, Problem)]
    if broken == b"END:VCARD \r\n":
        assert len(names) == 300 and not problems
        return
    assert len(names) == 299 and "Person 100" not in names and names[-1] == "Person 299"
    [problem] = problems
    assert problem.line == 1 + 100 * 5
    assert "not closed by END:VCARD" in problem.reason


def test_a_damaged_begin_line_is_quarantined_not_dropped(tmp_path: Path) -> None:
    cards = _cards(5)
    cards[2] = cards[2].replace(b"BEGIN:VCARD", b"BEGIN:VCXRD")
    found = read(tmp_path, b"".join(cards))
    assert [c.name for c in contacts(found)] == ["Person 0", "Person 1", "Person 3", "Person 4"]
    [problem] = [r for r in found if isinstance(r, Problem)]
    assert problem.line == 11 and "FN:Person 2" in problem.raw
    assert "outside any card" in problem.reason


def test_every_begin_is_accounted_for_in_a_file_with_flipped_bytes(tmp_path: Path) -> None:
    import random
    import re

    rng = random.Random(7)
    data = bytearray(b"".join(_cards(500)))
    for _ in range(len(data) // 100):  # 1% of the bytes
        data[rng.randrange(len(data))] = rng.randrange(256)
    found = read(tmp_path, bytes(data))
    begins = len(re.findall(rb"(?im)^BEGIN:VCARD[ \t]*\r?$", bytes(data)))
    cards = [r for r in found if isinstance(r, Contact | Skipped)]
    cut = [r for r in found if isinstance(r, Problem) and "outside any card" not in r.reason]
    assert len(cards) + len(cut) == begins
    assert len(cards) > 350


def test_utf16_without_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    # Apple's address book: UTF-16 big-endian, no byte-order mark, CR line ends.
    text = "BEGIN:VCARD\rVERSION:3.0\rFN:Zoë Lefèvre\rEMAIL:zoe@example.fr\rEND:VCARD\r"
    path = tmp_path / "apple.vcf"
    path.write_bytes(text.encode("utf-16-be"))
    assert detect(path) is VCardConnector
    [card] = contacts(list(VCardConnector(path).extract(None)))
    assert (card.name, card.emails) == ("Zoë Lefèvre", ("zoe@example.fr",))
    path.write_bytes(text.encode("utf-16-le"))
    assert contacts(list(VCardConnector(path).extract(None)))[0].name == "Zoë Lefèvre"


def test_a_phone_field_that_holds_no_number_is_a_note(tmp_path: Path) -> None:
    data = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann\r\nTEL:\xc2\xa7\r\nTEL:0\r\n"
        b"TEL:business fax test\r\nTEL:+1 555 010 0123\r\nEND:VCARD\r\n"
    )
    [card] = contacts(read(tmp_path, data))
    assert card.phones == ("+15550100123",)
    assert card.notes.splitlines() == [
        "phone (not a number): §",
        "phone (not a number): 0",
        "phone (not a number): business fax test",
    ]
