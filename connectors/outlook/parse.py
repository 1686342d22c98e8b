"""Microsoft Graph's JSON as netgarden's records: messages, contacts, events. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.mail import Address, Message, message_key
from pipeline.meetings import Attendee
from pipeline.model import Contact, Handle
from pipeline.normalize import display_name, join_name, normalize_email, phones_and_notes

#: What a message delta asks for: who, when, which message, and the headers of the noise rules.
MESSAGE_SELECT = (
    "from,toRecipients,ccRecipients,bccRecipients,sentDateTime,receivedDateTime,"
    "internetMessageId,internetMessageHeaders"
)
CONTACT_SELECT = (
    "displayName,givenName,surname,emailAddresses,businessPhones,mobilePhone,companyName,jobTitle"
)
#: Well-known folder names and the role of their messages.
FOLDER_ROLES = {
    "sentitems": "sent",
    "deleteditems": "trash",
    "junkemail": "spam",
    "drafts": "drafts",
}


def _address(value: Any) -> Address | None:
    email_address = (value or {}).get("emailAddress") or {}
    email = normalize_email(str(email_address.get("address", "")))
    if email is None:
        return None
    name = str(email_address.get("name", "")).strip()
    return Address(email, "" if name.lower() == email else name)


def _addresses(values: Iterable[Any] | None) -> tuple[Address, ...]:
    found = (_address(v) for v in values or ())
    return tuple(a for a in found if a is not None)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def graph_message(data: Mapping[str, Any], folder: str, me: frozenset[str]) -> Message | None:
    """A message of a delta page as a Message (None when it has no time that can be read)."""
    role = FOLDER_ROLES.get(folder.lower(), "")
    sender = _address(data.get("from"))
    sent = role == "sent" or (sender is not None and sender.email in me)
    stamp = (
        data.get("sentDateTime" if sent else "receivedDateTime")
        or data.get("receivedDateTime")
        or data.get("sentDateTime")
    )
    try:
        at = _instant(str(stamp)).replace(microsecond=0) if stamp else None
    except ValueError:
        at = None
    if at is None:
        return None
    headers = {
        str(h.get("name", "")).lower(): str(h.get("value", ""))
        for h in data.get("internetMessageHeaders") or []
    }
    return Message(
        at=at,
        key=message_key(str(data.get("internetMessageId", "")), "outlook", str(data.get("id"))),
        sender=sender,
        to=_addresses(data.get("toRecipients")),
        cc=_addresses(data.get("ccRecipients")),
        bcc=_addresses(data.get("bccRecipients")),
        labels=frozenset({role}) if role else frozenset(),
        sent=sent,
        list_id=headers.get("list-id", ""),
        list_unsubscribe=headers.get("list-unsubscribe", ""),
        precedence=headers.get("precedence", ""),
        auto_submitted=headers.get("auto-submitted", ""),
    )


def graph_contact(data: Mapping[str, Any], region: str) -> Contact | None:
    """An Outlook contact as a Contact (None when it has nothing to call it by)."""
    emails = [
        e
        for e in (
            normalize_email(str(x.get("address", ""))) for x in data.get("emailAddresses") or []
        )
        if e
    ]
    raw_phones = [*(data.get("businessPhones") or []), data.get("mobilePhone") or ""]
    phones, notes = phones_and_notes([str(x) for x in raw_phones if x], region)
    given = str(data.get("givenName") or "")
    family = str(data.get("surname") or "")
    organization = str(data.get("companyName") or "")
    name = display_name(
        str(data.get("displayName") or ""), join_name(given, family), organization, emails, phones
    )
    if not name:
        return None
    return Contact(
        source="outlook",
        source_id=str(data.get("id", "")),
        name=name,
        given_name=given,
        family_name=family,
        organization=organization,
        title=str(data.get("jobTitle") or ""),
        handles=tuple(
            [Handle("email", e) for e in dict.fromkeys(emails)]
            + [Handle("phone", p) for p in phones]
        ),
        notes="\n".join(notes),
    )


def event_start(data: Mapping[str, Any], fallback: tzinfo) -> datetime | None:
    """When an event starts, in UTC (Graph gives a local time and the zone it is in)."""
    start = data.get("start") or {}
    text = start.get("dateTime")
    if not text:
        return None
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        try:
            zone: tzinfo = ZoneInfo(str(start.get("timeZone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            zone = fallback
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def event_attendees(data: Mapping[str, Any]) -> Iterable[Attendee]:
    """The people at an event: attendees that are not resources, and the organizer."""
    organizer = _address(data.get("organizer"))
    if organizer is not None:
        yield Attendee(organizer.email, organizer.name, False, True)
    for attendee in data.get("attendees") or []:
        if str(attendee.get("type", "")).lower() == "resource":
            continue
        address = _address(attendee)
        if address is None:
            continue
        response = str((attendee.get("status") or {}).get("response", "")).lower()
        yield Attendee(address.email, address.name, response == "declined", False)
