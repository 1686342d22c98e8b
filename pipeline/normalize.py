"""Normalizers for handles and names: one definition of "the same address" for every source."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import NamedTuple

import phonenumbers

# RFC 5322 addr-spec (RFC 6531 letters allowed): a dot-atom or quoted local part, then a
# dot-atom domain (an intranet's dot-less host name is one) or a [domain literal].
_ATEXT = r"[\w!#$%&'*+/=?^`{|}~-]+"
_EMAIL_RE = re.compile(
    rf'^(?:{_ATEXT}(?:\.{_ATEXT})*|"(?:[^"\\\r\n]|\\.)+")'
    r"@(?:[\w-]+(?:\.[\w-]+)*|\[[^\[\]\s\\]+\])$"
)
_EMAIL_IN_TEXT_RE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_E164_RE = re.compile(r"\+[1-9]\d{3,14}")
_SPACES_RE = re.compile(r"\s+")


def normalize_email(raw: str) -> str | None:
    """Return the comparable form of an e-mail address (trimmed, lowercased), or None.

    Accepts `mailto:` URIs and `<addr>`; an Exchange X.500 address (`/o=...`) or any value
    that is not an address is None.
    """
    value = raw.strip()
    if value[:1] == "<" or value[-1:] == ">":
        value = value.strip("<>").strip()
    if value[:7].lower() == "mailto:":
        value = value[7:].split("?", 1)[0].strip()
    if not value or value[0] == "/":
        return None
    value = value.lower()
    return value if _EMAIL_RE.match(value) else None


def invalid_email(raw: str) -> bool:
    """Whether a value was meant as an e-mail address (something on both sides of an `@`) but
    is not a valid one (`jane.@x`, `a@@b`): a problem to report, where a value with no `@`, or
    nothing before it (`Undisclosed-Recipient:@host;`), is simply not one."""
    value = raw.strip().strip("<>").strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    local, at, domain = value.partition("@")
    return bool(at and local.strip() and domain.strip()) and normalize_email(raw) is None


def email_in_text(text: str) -> str | None:
    """The first e-mail address inside free text, such as `Jane Roe (jane@example.com)`."""
    match = _EMAIL_IN_TEXT_RE.search(text)
    return normalize_email(match.group(0)) if match else None


def email_domain(email: str) -> str:
    """The domain part of a normalized address."""
    return email.rpartition("@")[2]


_PLAIN_NUMBER_RE = re.compile(r"\+?[0-9 \-.()/]+")
#: What a plain number holds besides its digits, deleted as bytes: three times faster than
#: str.translate, which looks every character up in a dict.
_NOT_DIGITS = b"+ -.()/"
_ASCII_DIGIT_RE = re.compile("[0-9]")


class _RegionRules(NamedTuple):
    """What parsing a number of one region may strip, from phonenumbers' own metadata."""

    country_code: int
    #: The national (trunk) prefix, as parsing matches it (None: the region has none).
    national_prefix: re.Pattern[str] | None
    #: The prefix for dialling abroad.
    international_prefix: re.Pattern[str] | None
    #: The possible lengths of a number with this country code, and those that can only be
    #: dialled locally: the main region's, which phonenumbers' is_possible_number asks (Tristan
    #: da Cunha's numbers are checked against St Helena's).
    lengths: frozenset[int]
    local_only: frozenset[int]
    #: The region's own lengths, which decide whether parsing strips a national prefix.
    own_lengths: tuple[int, ...]
    own_local_only: frozenset[int]
    #: The shape of every national number of the region (None: phonenumbers gives none).
    general: re.Pattern[str] | None
    #: Whether a national prefix is stripped here as phonenumbers does (not when its pattern
    #: captures a carrier code, or phonenumbers would not strip it at all).
    strips: bool


@cache
def _region_rules(region: str) -> _RegionRules | None:
    """The `_RegionRules` of `region`; None when the region has a prefix transform (Argentina,
    Brazil, ...), which only phonenumbers itself applies."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(region.upper(), None)
    if (
        metadata is None
        or metadata.national_prefix_transform_rule is not None
        or metadata.country_code is None
        or metadata.general_desc is None
    ):
        return None
    national = metadata.national_prefix_for_parsing or metadata.national_prefix
    strip = re.compile(national) if national else None
    exact = strip is not None and not strip.groups
    idd = metadata.international_prefix
    pattern = metadata.general_desc.national_number_pattern
    main = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        metadata.country_code, phonenumbers.region_code_for_country_code(metadata.country_code)
    )
    if main is None or main.general_desc is None:
        return None
    return _RegionRules(
        metadata.country_code,
        strip,
        re.compile(idd) if idd else None,
        frozenset(main.general_desc.possible_length or ()),
        frozenset(main.general_desc.possible_length_local_only or ()),
        tuple(metadata.general_desc.possible_length or ()),
        frozenset(metadata.general_desc.possible_length_local_only or ()),
        re.compile(pattern) if pattern else None,
        exact and national == metadata.national_prefix_for_parsing,
    )


def _fast_e164(value: str, region: str) -> str | None:
    """What `normalize_phone` makes of a number whose parsing is plain digit copying: its
    E.164 form, "" when it is no possible number, or None to ask phonenumbers.

    phonenumbers.parse costs ~27 µs a number, a third of a large vCard import. Most numbers
    need nothing it does beyond reading digits and stripping a national (trunk) prefix, the
    `0` of `030 901820`: that prefix is stripped by phonenumbers' own rule (not when the number
    fits the region's shape only with it, or what is left is no possible length), then a
    possible length gives E.164 at once, and a length that is possible nowhere in the region
    means "not a number there": "" (never the value as written, which would pass for E.164
    when written as one: `+2537519073`, too short). A number with an international
    prefix, a country code written without `+`, or a prefix that carries a carrier code goes
    to phonenumbers. tests/pipeline/test_normalize.py checks that both agree on tens of
    thousands of generated numbers.
    """
    if not _PLAIN_NUMBER_RE.fullmatch(value):
        return None
    digits = value.encode("ascii").translate(None, _NOT_DIGITS).decode("ascii")
    if value.lstrip()[:1] == "+":
        if not digits or digits[0] == "0":
            return None
        for size in (1, 2, 3):
            regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(int(digits[:size]))
            if regions:
                break
        else:
            return None
        if regions[0] == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
            return None
        rules = _region_rules(regions[0])
        national_number = digits[size:]
    else:
        if not region:
            return None
        rules = _region_rules(region)
        if rules is None:
            return None
        national_number = digits
        idd = rules.international_prefix
        if (idd is not None and idd.match(digits)) or digits.startswith(str(rules.country_code)):
            return None
    if rules is None:
        return None
    country_code, national_prefix, _, lengths, local_only, _, _, _, strips = rules
    if national_prefix is not None:
        found = national_prefix.match(national_number)
        if found is not None:
            if not strips:
                return None
            national_number = _without_national_prefix(national_number, found.end(), rules)
    size = len(national_number)
    if size in lengths:
        return f"+{country_code}{national_number}"
    if size in local_only:
        return None
    return ""


#: A plain number ending in a digit, then an extension written in one of the ways
#: phonenumbers reads it (its own patterns are much wider): a label that says so (`ext`,
#: `extn`) and up to 20 digits, or an ambiguous one (`x`, `#`) and up to 9.
_EXTENSION_RE = re.compile(
    r"(\+?[0-9 \-.()/]*[0-9])[ \t]*"
    r"(?:(?i:extn?)[:.]?[ \t-]*([0-9]{1,20})|[xX#][:.]?[ \t-]*([0-9]{1,9}))"
)


def _fast_with_extension(value: str, region: str) -> str | None:
    """What `normalize_phone` makes of a plain number with an extension (`x12`, `ext. 12`),
    as phonenumbers would, when `_fast_e164` answers for the number; else None (ask
    phonenumbers). The number before the extension is read as it would be alone (phonenumbers
    strips the extension first), and the extension is kept as written."""
    found = _EXTENSION_RE.fullmatch(value)
    if found is None or len(value) > 250:  # phonenumbers refuses longer input
        return None
    number = _fast_e164(found[1], region)
    if number is None or not _E164_RE.fullmatch(number):
        return None
    return f"{number};ext={found[2] or found[3]}"


def _without_national_prefix(number: str, end: int, rules: _RegionRules) -> str:
    """`number` without the national prefix that ends at `end`, when phonenumbers.parse
    strips it: unless the number fits the region's shape and would no longer fit it, or the
    number left would be too short, a local-only length or no possible length."""
    left = number[end:]
    general = rules.general
    if general is not None and general.fullmatch(number) and not general.fullmatch(left):
        return number
    size = len(left)
    lengths = rules.own_lengths  # in order, as phonenumbers keeps them
    if not lengths or lengths[0] == -1 or size in rules.own_local_only or size < lengths[0]:
        return number
    if size > lengths[-1] or size in lengths:
        return left
    return number


@lru_cache(maxsize=65536)
def normalize_phone(raw: str, region: str) -> str | None:
    """A phone number in E.164 (`+15550100123`), using `region` for national numbers; None when
    the value is no possible number (empty, `§`, `0`, `business fax test`, `*99#`): such a value
    is no way to reach anyone, and a record keeps it as a note instead (`phone_note`)."""
    value = raw.strip()
    # Every white space but " " is unprintable: most numbers hold nothing to substitute.
    if not value.isprintable() or "  " in value:
        value = _SPACES_RE.sub(" ", value)
    if value[:4].lower() == "tel:":
        value = value[4:].split(";", 1)[0]
    if not value:
        return None
    if not (value.isascii() and _ASCII_DIGIT_RE.search(value)) and not any(
        ch.isdigit() for ch in value
    ):
        return None
    found = _e164(value, region)
    if found is None and value.startswith("00"):
        # "00" is how most of the world dials abroad, whatever the region's own prefix is.
        found = _e164("+" + value[2:], region)
    return found


def _e164(value: str, region: str) -> str | None:
    fast = _fast_e164(value, region)
    if fast is not None:
        return fast if _E164_RE.fullmatch(fast) else None
    extended = _fast_with_extension(value, region)
    if extended is not None:
        return extended
    try:
        number = phonenumbers.parse(value, region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension:
        e164 += f";ext={number.extension}"
    return e164


def phone_note(raw: str) -> str:
    """The note a record keeps for a phone field that holds no number."""
    return f"phone (not a number): {_SPACES_RE.sub(' ', raw.strip())}"


def phones_and_notes(values: Iterable[str], region: str) -> tuple[list[str], list[str]]:
    """Phone fields as E.164 handles (each once, in order), and notes for those that hold
    something that is not a number (empty fields are nothing)."""
    phones: list[str] = []
    notes: list[str] = []
    for raw in values:
        phone = normalize_phone(raw, region)
        if phone is not None:
            if phone not in phones:
                phones.append(phone)
        elif raw.strip():
            notes.append(phone_note(raw))
    return phones, notes


def normalize_url(raw: str) -> str | None:
    """A profile or web URL as a handle: scheme and host lowercased, trailing slash dropped."""
    value = raw.strip().replace("\\:", ":")
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value
    scheme, _, rest = value.partition("://")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")


def join_name(*parts: str) -> str:
    """Join name parts with single spaces, skipping empty ones."""
    return " ".join(filter(None, map(str.strip, parts)))


def display_name(
    formatted: str,
    structured: str,
    organization: str,
    emails: tuple[str, ...] | list[str],
    phones: tuple[str, ...] | list[str],
) -> str:
    """The name a contact is shown by: FN, else N, else ORG, else first e-mail, else first phone.

    Returns "" when a record has none of these: such a record is not a contact.
    """
    for candidate in (formatted, structured, organization):
        if candidate:
            candidate = " ".join(candidate.split())
            if candidate:
                return candidate
    if emails:
        return emails[0]
    if phones:
        return phones[0]
    return ""


_COMBINING_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_WORD_RE = re.compile(r"[^\W_]+")


def name_key(name: str) -> str:
    """A loose key for "probably the same name": case, accents and punctuation folded."""
    folded = name.casefold()
    if not folded.isascii():
        folded = _COMBINING_RE.sub("", unicodedata.normalize("NFKD", folded))
    return " ".join(_WORD_RE.findall(folded))
