"""Every vCard of ../shared/corpus/vcard yields the people a person reading the file expects."""

from __future__ import annotations

import pytest

from connectors.vcard import VCardConnector
from pipeline.model import Contact, Problem
from tests.connectors.vcard_expected import EXPECTED, QUARANTINED
from tests.helpers import CORPUS

#: Every test here reads ../shared/corpus (skipped without it, an error under CI).
pytestmark = pytest.mark.usefixtures("corpus")

VCARD_CORPUS = CORPUS / "vcard"


def test_every_corpus_file_is_listed() -> None:
    on_disk = {str(p.relative_to(VCARD_CORPUS)) for p in VCARD_CORPUS.rglob("*.vcf")}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("relative", sorted(EXPECTED))
def test_corpus_file(relative: str) -> None:
    path = VCARD_CORPUS / relative
    assert VCardConnector.sniff(path.read_bytes()[:4096], path)
    records = list(VCardConnector(path).extract(None))
    contacts = [r for r in records if isinstance(r, Contact)]
    got = [(c.name, c.emails, len(c.phones), c.organization) for c in contacts]
    want = [(e.name, e.emails, e.phones, e.organization) for e in EXPECTED[relative]]
    assert got == want
    assert [r.line for r in records if isinstance(r, Problem)] == QUARANTINED.get(relative, [])
