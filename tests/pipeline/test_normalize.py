"""Handles compare equal when they reach the same person."""

from __future__ import annotations

import random

import phonenumbers
import pytest

from pipeline.normalize import (
    _fast_e164,
    _fast_with_extension,
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
        ("00-1-212-555-7777", "US", "+12125557777"),
        # Any white space, and digits of other scripts, as phonenumbers reads them.
        ("+1\u00a0555\t010  0123", "US", "+15550100123"),
        ("+44\u202f20\u30007946 0123", "US", "+442079460123"),
        ("\uff10\uff12\uff10 7946 0123", "GB", "+442079460123"),
        ("\u0660\u0662\u0660 7946 0123", "GB", "+442079460123"),
        # Extensions, as phonenumbers reads them.
        ("(555) 010-0123 x12", "US", "+15550100123;ext=12"),
        ("+44 20 7946 0392 ext. 7", "US", "+442079460392;ext=7"),
        ("555 010 0123 #4", "US", "+15550100123;ext=4"),
        ("555 010 0123 x1234567890", "US", None),
        # No possible number: a note of the record, never a handle.
        ("*99#", "US", None),
        ("BusinessPhone", "US", None),
        ("§", "US", None),
        ("0", "US", None),
        ("business fax test", "US", None),
        ("  ", "US", None),
        ("\u00b2\u00b3", "US", None),
        ("+2537519073", "US", None),  # written as E.164, but too short for Djibouti
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


def _phonenumbers_e164(value: str, region: str) -> str:
    """What phonenumbers alone makes of a number (the reference for the fast path): its E.164
    form with its extension, or "" when it is no possible number."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(number):
        return ""
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return f"{e164};ext={number.extension}" if number.extension else e164


def _separated(rng: random.Random, text: str) -> str:
    """A number as people write it: digits here and there apart by a space, dash or dot."""
    return "".join(
        ch + (rng.choice(" -.") if ch.isdigit() and rng.random() < 0.2 else "") for ch in text
    ).strip(" -.")


def _number(rng: random.Random, codes: list[int], longest: int) -> str:
    """Random digits, half the time after a country code's `+`."""
    digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, longest)))
    if rng.random() < 0.5:
        return f"+{rng.choice(codes)}{digits[: rng.randint(4, 12)]}"
    return digits


def _answered_alike(written: str, region: str) -> int:
    """1 when the fast path answers (and its answer is phonenumbers'), else 0."""
    fast = _fast_e164(written, region)
    if fast is None:
        return 0
    assert fast == _phonenumbers_e164(written, region), (written, region)
    return 1


def test_phone_fast_path_agrees_with_phonenumbers_wherever_it_answers() -> None:
    rng = random.Random(20261125)
    regions = [
        "US",
        "CA",
        "GB",
        "DE",
        "FR",
        "IT",
        "AR",
        "BR",
        "JP",
        "RU",
        "AU",
        "IN",
        "CN",
        "NL",
        "ES",
        "CH",
        "SE",
        "MX",
        "ZA",
        "NG",
        "KR",
        "HU",
    ]
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    answered = 0
    for _ in range(60_000):
        spaced = _separated(rng, _number(rng, codes, 15))
        if rng.random() < 0.1 and not spaced.startswith("+"):
            spaced = f"({spaced[:3]}) {spaced[3:]}"
        answered += _answered_alike(spaced, rng.choice(regions))
    # The fast path must actually carry load, or it is dead code.
    assert answered > 20_000


def test_phone_fast_path_strips_trunk_prefixes_as_phonenumbers_does_in_every_region() -> None:
    """National numbers with a trunk prefix (`030 901820`), `+44 (0)20 ...` and numbers of a
    region that shares its country code (Tristan da Cunha, Bonaire), in every region
    phonenumbers knows: wherever the fast path answers, phonenumbers answers the same."""
    rng = random.Random(20261206)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    answered = 0
    for _ in range(20_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(4, 12)))
        shape = rng.random()
        if shape < 0.5:
            text = "0" + digits
        elif shape < 0.75:
            text = f"+{rng.choice(codes)} (0){digits}"
        else:
            text = "1" + digits
        answered += _answered_alike(_separated(rng, text), rng.choice(regions))
    assert answered > 10_000


def test_extensions_read_without_phonenumbers_are_read_as_phonenumbers_reads_them() -> None:
    rng = random.Random(20261207)
    regions = sorted(phonenumbers.SUPPORTED_REGIONS)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    # Labels the fast path reads and labels only phonenumbers does (or reads otherwise).
    labels = ["x", "X", "#", "ext", "EXT", "Ext.", "ext:", "extn", "x.", "xt", "int", "~", ";"]
    answered = 0
    for _ in range(20_000):
        text = _number(rng, codes, 14)
        extension = "".join(rng.choice("0123456789") for _ in range(rng.choice([1, 3, 9, 10, 21])))
        written = (
            _separated(rng, text)
            + rng.choice(["", " ", "\t"])
            + rng.choice(labels)
            + rng.choice(["", " ", " - "])
            + extension
            + rng.choice(["", "#"])
        )
        region = rng.choice(regions)
        fast = _fast_with_extension(written, region)
        if fast is not None:
            assert fast == _phonenumbers_e164(written, region), (written, region)
            answered += 1
    assert answered > 700


@pytest.mark.parametrize(
    ("raw", "region"),
    [
        ("+1 555 010 0341", "US"),
        ("(312) 555-0158", "US"),
        ("+44 20 7946 0392", "DE"),
        ("+49 30 901820", "US"),
        ("+33 1 99 00 12 34", "US"),
        ("030 901820", "DE"),
        ("0113 496 0675", "GB"),
        ("+44 (0)20 7946 0392", "US"),
        ("01 99 00 12 34", "FR"),
    ],
)
def test_common_formats_take_the_fast_path(raw: str, region: str) -> None:
    fast = _fast_e164(raw, region)
    assert fast is not None and fast == _phonenumbers_e164(raw, region)
