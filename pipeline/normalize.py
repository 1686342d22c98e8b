"""Normalizers for handles and names: one definition of "the same address" for every source."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

_EMAIL_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")
_EMAIL_IN_TEXT_RE = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_SPACES_RE = re.compile(r"\s+")


def normalize_email(raw: str) -> str | None:
    """Return the comparable form of an e-mail address (trimmed, lowercased), or None.

    Accepts `mailto:` URIs and `<addr>`; an Exchange X.500 address (`/o=...`) or any value
    that is not an address is None.
    """
    value = raw.strip().strip("<>").strip()
    if value[:7].lower() == "mailto:":
        value = value[7:].split("?", 1)[0].strip()
    if not value or value[0] == "/":
        return None
    value = value.lower()
    return value if _EMAIL_RE.match(value) else None


def email_in_text(text: str) -> str | None:
    """The first e-mail address inside free text, such as `Jane Roe (jane@example.com)`."""
    match = _EMAIL_IN_TEXT_RE.search(text)
    return normalize_email(match.group(0)) if match else None


def email_domain(email: str) -> str:
    """The domain part of a normalized address."""
    return email.rpartition("@")[2]


@lru_cache(maxsize=65536)
def normalize_phone(raw: str, region: str) -> str | None:
    """Return a phone number in E.164 (`+15550100123`) using `region` for national numbers.

    A value phonenumbers cannot place is kept as the user wrote it (trimmed, spaces folded) so
    that no number is lost; an empty value is None.
    """
    value = _SPACES_RE.sub(" ", raw.strip())
    if value[:4].lower() == "tel:":
        value = value[4:].split(";", 1)[0]
    if not value:
        return None
    if not any(ch.isdigit() for ch in value):
        return value
    try:
        number = phonenumbers.parse(value, region or None)
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_possible_number(number):
        return value
    e164: str = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if number.extension:
        e164 += f";ext={number.extension}"
    return e164


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
    return " ".join(p.strip() for p in parts if p and p.strip())


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
        candidate = _SPACES_RE.sub(" ", candidate).strip()
        if candidate:
            return candidate
    if emails:
        return emails[0]
    if phones:
        return phones[0]
    return ""


def name_key(name: str) -> str:
    """A loose key for "probably the same name": case, accents and spacing folded."""
    folded = unicodedata.normalize("NFKD", name.casefold())
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _SPACES_RE.sub(" ", re.sub(r"[^\w\s]", " ", stripped)).strip()
