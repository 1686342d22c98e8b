"""Google's JSON as netgarden's records: Gmail message metadata, People API persons, Calendar
events. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any

from connectors.mailparse import parse_addresses
from pipeline.mail import Message, message_key
from pipeline.meetings import Attendee
from pipeline.model import Contact, Handle
from pipeline.normalize import display_name, join_name, normalize_email, phones_and_notes

#: The headers asked for with `format=metadata`.
METADATA_HEADERS = (
    "From",
    "To",
    "Cc",
    "Bcc",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "Precedence",
    "Auto-Submitted",
)
#: The partial response asked for: nothing netgarden does not read.
MESSAGE_FIELDS = "id,labelIds,internalDate,payload/headers"
PERSON_FIELDS = "names,emailAddresses,phoneNumbers,organizations,metadata"


def gmail_message(data: Mapping[str, Any], send_as: frozenset[str]) -> Message | None:
    """A `users.messages.get` (format=metadata) response as a Message. The instant is
    `internalDate`; it is sent when it carries SENT or comes from a send-as address. None when
    the response has no usable `internalDate`."""
    try:
        at = datetime.fromtimestamp(int(data["internalDate"]) / 1000, tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    headers: dict[str, str] = {}
    for header in data.get("payload", {}).get("headers", []):
        name = str(header.get("name", "")).lower()
        value = str(header.get("value", ""))
        if name in ("to", "cc", "bcc") and name in headers:
            headers[name] += ", " + value
        else:
            headers.setdefault(name, value)
    labels = frozenset(str(label).lower() for label in data.get("labelIds", []))
    senders = parse_addresses(headers.get("from", ""))
    sender = senders[0] if senders else None
    return Message(
        at=at.replace(microsecond=0),
        key=message_key(headers.get("message-id", ""), "gmail", str(data.get("id", ""))),
        sender=sender,
        to=parse_addresses(headers.get("to", "")),
        cc=parse_addresses(headers.get("cc", "")),
        bcc=parse_addresses(headers.get("bcc", "")),
        labels=labels,
        sent="sent" in labels or (sender is not None and sender.email in send_as),
        draft="draft" in labels,
        list_id=headers.get("list-id", ""),
        list_unsubscribe=headers.get("list-unsubscribe", ""),
        precedence=headers.get("precedence", ""),
        auto_submitted=headers.get("auto-submitted", ""),
    )


def person_contact(data: Mapping[str, Any], source: str, region: str) -> Contact | None:
    """A People API person as a Contact (None when it has nothing to call it by)."""
    names = data.get("names") or [{}]
    first = names[0] if isinstance(names[0], dict) else {}
    emails = [
        e
        for e in (normalize_email(str(x.get("value", ""))) for x in data.get("emailAddresses", []))
        if e
    ]
    phones, notes = phones_and_notes(
        [str(x.get("value", "")) for x in data.get("phoneNumbers", [])], region
    )
    organizations = data.get("organizations") or [{}]
    organization = str(organizations[0].get("name", "")) if organizations else ""
    title = str(organizations[0].get("title", "")) if organizations else ""
    given = str(first.get("givenName", ""))
    family = str(first.get("familyName", ""))
    name = display_name(
        str(first.get("displayName", "")), join_name(given, family), organization, emails, phones
    )
    if not name:
        return None
    return Contact(
        source=source,
        source_id=str(data.get("resourceName", "")),
        name=name,
        given_name=given,
        family_name=family,
        organization=organization,
        title=title,
        handles=tuple(
            [Handle("email", e) for e in dict.fromkeys(emails)]
            + [Handle("phone", p) for p in phones]
        ),
        notes="\n".join(notes),
    )


def event_start(data: Mapping[str, Any], zone: tzinfo) -> datetime | None:
    """When a Calendar event starts, in UTC: a day without a time is noon in the user's zone."""
    start = data.get("start") or {}
    if start.get("dateTime"):
        moment = datetime.fromisoformat(str(start["dateTime"]).replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)
    if start.get("date"):
        day = date.fromisoformat(str(start["date"]))
        return datetime.combine(day, time(12, 0), tzinfo=zone).astimezone(UTC)
    return None


def event_attendees(data: Mapping[str, Any]) -> Iterable[Attendee]:
    """The people at a Calendar event: its attendees that are not resources, and its organizer."""
    organizer = data.get("organizer") or {}
    email = normalize_email(str(organizer.get("email", "")))
    if email:
        yield Attendee(email, str(organizer.get("displayName", "")), False, True)
    for attendee in data.get("attendees") or []:
        if attendee.get("resource"):
            continue
        email = normalize_email(str(attendee.get("email", "")))
        if email:
            yield Attendee(
                email,
                str(attendee.get("displayName", "")),
                attendee.get("responseStatus") == "declined",
                bool(attendee.get("organizer")),
            )
