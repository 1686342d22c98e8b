"""Handles compare equal when they reach the same person."""

from __future__ import annotations

import pytest

from pipeline.normalize import (
    display_name,
    email_in_text,
    name_key,
    normalize_email,
    normalize_phone,
    normalize_url,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Jane.Doe@Example.COM ", "jane.doe@example.com"),
        ("mailto:jane@example.com", "jane@example.com"),
        ("<jane@example.com>", "jane@example.com"),
        ("/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=jane", None),
        ("not an address", None),
        ("", None),
    ],
)
def test_normalize_email(raw: str, expected: str | None) -> None:
    assert normalize_email(raw) == expected


def test_email_in_display_text() -> None:
    assert email_in_text("Jane Roe (Jane.Roe@example.com)") == "jane.roe@example.com"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(555) 010-0123", "US", "+15550100123"),
        ("+1 555 010 0123", "GB", "+15550100123"),
        ("020 7946 0123", "GB", "+442079460123"),
        ("+44 (0)20 7946 0123", "US", "+442079460123"),
        ("tel:+49-30-901820", "US", "+4930901820"),
        ("*99#", "US", "*99#"),
        ("BusinessPhone", "US", "BusinessPhone"),
        ("  ", "US", None),
    ],
)
def test_normalize_phone(raw: str, region: str, expected: str | None) -> None:
    assert normalize_phone(raw, region) == expected


def test_normalize_url() -> None:
    assert normalize_url("HTTPS://www.LinkedIn.com/in/jane/") == "https://www.linkedin.com/in/jane"
    assert normalize_url("http\\://example.com") == "http://example.com"


def test_display_name_order() -> None:
    assert display_name("Jane Doe", "Doe Jane", "Acme", ["j@x.org"], ["+1"]) == "Jane Doe"
    assert display_name("", "Jane Doe", "Acme", [], []) == "Jane Doe"
    assert display_name("", "", "Acme", ["j@x.org"], []) == "Acme"
    assert display_name("", "", "", ["j@x.org"], ["+1"]) == "j@x.org"
    assert display_name("", "", "", [], ["+1"]) == "+1"
    assert display_name(" ", "", "", [], []) == ""


def test_name_key_folds_case_accents_and_punctuation() -> None:
    assert name_key("Renée  MÜLLER") == name_key("renee muller")
