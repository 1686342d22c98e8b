"""The fake Google server driven by the real client libraries, exactly as production code does."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httplib2
import pytest
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from tests.fakes.google import FakeGoogle, apply_fields, parse_fields

SCOPES = [
    "https://www.googleapis.com/auth/gmail.metadata",
    "https://www.googleapis.com/auth/contacts.readonly",
    "https://www.googleapis.com/auth/contacts.other.readonly",
    "https://www.googleapis.com/auth/calendar.readonly",
]
BASE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
MASK = "id,threadId,labelIds,internalDate,historyId,payload/headers"


@pytest.fixture
def fake() -> Iterator[FakeGoogle]:
    with FakeGoogle(send_as=["alias@example.com"]) as server:
        yield server


def credentials(fake: FakeGoogle) -> Credentials:
    """Fresh credentials without an access token: the first call refreshes at the fake."""
    untyped: Any = Credentials  # google-auth does not annotate the constructor
    creds: Credentials = untyped(
        token=None,
        refresh_token="r",
        token_uri=fake.root + "token",
        client_id="c",
        client_secret="s",
        scopes=SCOPES,
    )
    return creds


def service(fake: FakeGoogle, name: str, version: str, creds: Credentials | None = None) -> Any:
    root = fake.root + "calendar/v3/" if name == "calendar" else fake.root
    return build(
        name,
        version,
        credentials=creds or credentials(fake),
        static_discovery=True,
        cache_discovery=False,
        client_options={"api_endpoint": root},
    )


def add_messages(fake: FakeGoogle, count: int, labels: list[str] | None = None) -> list[str]:
    return [
        fake.add_message(
            [
                ("From", f"Person {i} <p{i}@example.org>"),
                ("To", "me@example.com"),
                ("Subject", f"hello {i}"),
                ("Message-ID", f"<m{i}@example.org>"),
            ],
            labels or ["INBOX"],
            BASE + timedelta(minutes=i),
        )
        for i in range(count)
    ]


def error_body(exc: HttpError) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.content)["error"]
    return body


def test_profile_send_as_and_one_token_refresh(fake: FakeGoogle) -> None:
    add_messages(fake, 3)
    gmail = service(fake, "gmail", "v1")
    profile = gmail.users().getProfile(userId="me").execute()
    assert profile == {
        "emailAddress": "me@example.com",
        "messagesTotal": 3,
        "threadsTotal": 3,
        "historyId": str(fake.history_id),
    }
    send_as = gmail.users().settings().sendAs().list(userId="me").execute()["sendAs"]
    assert [(s["sendAsEmail"], s.get("isPrimary", False)) for s in send_as] == [
        ("me@example.com", True),
        ("alias@example.com", False),
    ]
    assert fake.token_refreshes == 1
    assert fake.calls == {"getProfile": 1, "settings.sendAs.list": 1}
    assert fake.units_used == 2
    assert fake.requests == 2


def test_token_refreshed_again_after_revocation(fake: FakeGoogle) -> None:
    gmail = service(fake, "gmail", "v1")
    gmail.users().getProfile(userId="me").execute()
    fake.revoke_tokens()
    gmail.users().getProfile(userId="me").execute()  # 401, refresh, retried by the transport
    assert fake.token_refreshes == 2
    assert fake.requests == 3


def test_call_without_issued_token_is_401(fake: FakeGoogle) -> None:
    http = httplib2.Http()
    url = fake.root + "gmail/v1/users/me/profile?alt=json"
    resp, content = http.request(url, headers={"Authorization": "Bearer not-issued"})
    assert resp.status == 401
    assert resp["www-authenticate"].startswith("Bearer")
    assert json.loads(content)["error"]["status"] == "UNAUTHENTICATED"
    assert fake.calls == {} and fake.requests == 1


def test_messages_list_pages_newest_first_without_spam_and_trash(fake: FakeGoogle) -> None:
    ids = add_messages(fake, 7)
    add_messages(fake, 1, ["SPAM"])
    add_messages(fake, 1, ["TRASH"])
    gmail = service(fake, "gmail", "v1")
    after = int((BASE + timedelta(minutes=2)).timestamp())
    request = (
        gmail.users()
        .messages()
        .list(userId="me", maxResults=2, q=f"after:{after} -in:spam -in:trash")
    )
    seen: list[str] = []
    pages = 0
    while request is not None:
        response = request.execute()
        pages += 1
        assert response["resultSizeEstimate"] == 5
        seen += [m["id"] for m in response["messages"]]
        request = gmail.users().messages().list_next(request, response)
    assert seen == list(reversed(ids[2:]))
    assert pages == 3
    everything = gmail.users().messages().list(userId="me", includeSpamTrash=True).execute()
    assert everything["resultSizeEstimate"] == 9
    assert fake.units_used == 4 * 5


def test_batch_of_60_metadata_gets_with_fields_mask(fake: FakeGoogle) -> None:
    ids = add_messages(fake, 60)
    gmail = service(fake, "gmail", "v1")
    results: dict[str, Any] = {}

    def done(request_id: str, response: Any, exception: Exception | None) -> None:
        assert exception is None
        results[request_id] = response

    batch = BatchHttpRequest(callback=done, batch_uri=fake.root + "batch/gmail/v1")
    for mid in ids:
        request = (
            gmail.users()
            .messages()
            .get(
                userId="me",
                id=mid,
                format="metadata",
                metadataHeaders=["from", "MESSAGE-ID"],  # matched case-insensitively
                fields=MASK,
            )
        )
        batch.add(request, request_id=mid)
    batch.execute()
    assert set(results) == set(ids)
    first = results[ids[0]]
    assert set(first) == {"id", "threadId", "labelIds", "internalDate", "historyId", "payload"}
    assert first["internalDate"] == str(int(BASE.timestamp() * 1000))
    assert first["payload"] == {
        "headers": [
            {"name": "From", "value": "Person 0 <p0@example.org>"},
            {"name": "Message-ID", "value": "<m0@example.org>"},
        ]
    }
    assert fake.max_batch == 60
    assert fake.calls["messages.get"] == 60
    assert fake.units_used == 300
    assert fake.requests == 1  # the batch counts once


def test_batch_over_100_refused_whole(fake: FakeGoogle) -> None:
    ids = add_messages(fake, 101)
    gmail = service(fake, "gmail", "v1")
    batch = BatchHttpRequest(callback=lambda *_: None, batch_uri=fake.root + "batch/gmail/v1")
    for mid in ids:
        batch.add(gmail.users().messages().get(userId="me", id=mid, format="minimal"))
    with pytest.raises(HttpError) as caught:
        batch.execute()
    assert caught.value.resp.status == 400
    assert fake.max_batch == 101
    assert fake.units_used == 0


def test_batch_part_faults_carry_retry_after_and_404s(fake: FakeGoogle) -> None:
    ids = add_messages(fake, 3)
    gmail = service(fake, "gmail", "v1")
    outcome: dict[str, Any] = {}

    def done(request_id: str, response: Any, exception: Exception | None) -> None:
        outcome[request_id] = exception if exception is not None else response

    batch = BatchHttpRequest(callback=done, batch_uri=fake.root + "batch/gmail/v1")
    for mid in [*ids, "nosuchid"]:
        batch.add(gmail.users().messages().get(userId="me", id=mid), request_id=mid)
    fake.fail_next(1, 503, retry_after="2")
    batch.execute()
    failed = outcome[ids[0]]
    assert isinstance(failed, HttpError)
    assert failed.resp.status == 503
    assert failed.resp["retry-after"] == "2"
    assert error_body(failed)["errors"][0]["reason"] == "backendError"
    missing = outcome["nosuchid"]
    assert isinstance(missing, HttpError) and missing.resp.status == 404
    assert outcome[ids[1]]["id"] == ids[1]


def test_history_after_add_message_then_404_once_expired(fake: FakeGoogle) -> None:
    gmail = service(fake, "gmail", "v1")
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    mid = fake.add_message([("From", "a@example.org")], ["INBOX", "UNREAD"], BASE)
    history = (
        gmail.users()
        .history()
        .list(userId="me", startHistoryId=start, historyTypes=["messageAdded"])
    )
    response = history.execute()
    assert response["historyId"] == str(fake.history_id)
    [record] = response["history"]
    assert record["messages"] == [{"id": mid, "threadId": mid}]
    assert record["messagesAdded"] == [
        {"message": {"id": mid, "threadId": mid, "labelIds": ["INBOX", "UNREAD"]}}
    ]
    fake.expire_history()
    with pytest.raises(HttpError) as caught:
        gmail.users().history().list(userId="me", startHistoryId=response["historyId"]).execute()
    assert caught.value.resp.status == 404
    error = error_body(caught.value)
    assert error["errors"][0]["reason"] == "notFound"
    assert error["status"] == "NOT_FOUND"
    assert fake.calls["history.list"] == 2 and fake.units_used == 1 + 2 * 2


def test_people_sync_token_then_expired(fake: FakeGoogle) -> None:
    fake.add_person("people/c1", ["Ada Lovelace"], ["ada@example.org"], ["+44 20 1234 5678"])
    fake.add_person("people/c2", ["Alan Turing"], ["alan@example.org"], (), [("ACE", "Lead")])
    fake.add_person("people/c3", ["Grace Hopper"], ["grace@example.org"])
    fake.add_person("otherContacts/c9", ["Someone"], ["someone@example.org"], other=True)
    people = service(fake, "people", "v1")
    fields = "names,emailAddresses,phoneNumbers,organizations"
    first = (
        people.people()
        .connections()
        .list(resourceName="people/me", personFields=fields, pageSize=2, requestSyncToken=True)
        .execute()
    )
    assert "nextSyncToken" not in first and first["totalPeople"] == 3
    second = (
        people.people()
        .connections()
        .list(
            resourceName="people/me",
            personFields=fields,
            pageSize=2,
            requestSyncToken=True,
            pageToken=first["nextPageToken"],
        )
        .execute()
    )
    names = [p["names"][0]["displayName"] for p in first["connections"] + second["connections"]]
    assert names == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
    assert first["connections"][1]["organizations"][0]["title"] == "Lead"
    token = second["nextSyncToken"]

    fake.delete_person("people/c1")
    fake.add_person("people/c4", ["Katherine Johnson"], ["kj@example.org"])
    changed = (
        people.people()
        .connections()
        .list(resourceName="people/me", personFields=fields, syncToken=token)
        .execute()["connections"]
    )
    assert changed[0] == {
        "resourceName": "people/c1",
        "etag": changed[0]["etag"],
        "metadata": {"deleted": True},
    }
    assert changed[1]["emailAddresses"][0]["value"] == "kj@example.org"

    others = people.otherContacts().list(readMask="names,emailAddresses").execute()
    assert [p["resourceName"] for p in others["otherContacts"]] == ["otherContacts/c9"]

    fake.expire_people_sync()
    with pytest.raises(HttpError) as caught:
        people.people().connections().list(
            resourceName="people/me", personFields=fields, syncToken=token
        ).execute()
    assert caught.value.resp.status == 400
    error = error_body(caught.value)
    assert error["status"] == "FAILED_PRECONDITION"
    assert error["details"][0]["reason"] == "EXPIRED_SYNC_TOKEN"
    assert error["details"][0]["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"


def test_calendar_sync_then_410(fake: FakeGoogle) -> None:
    for n in range(3):
        fake.add_event(
            {
                "id": f"ev{n}",
                "iCalUID": f"ev{n}@example.org",
                "status": "confirmed",
                "start": {"dateTime": f"2024-03-0{n + 1}T10:00:00Z", "timeZone": "UTC"},
                "end": {"dateTime": f"2024-03-0{n + 1}T11:00:00Z", "timeZone": "UTC"},
                "organizer": {"email": "me@example.com", "self": True},
                "attendees": [{"email": "x@example.org", "responseStatus": "accepted"}],
            }
        )
    calendar = service(fake, "calendar", "v3")
    events = calendar.events()
    first = events.list(calendarId="primary", singleEvents=True, maxResults=2).execute()
    second = events.list(
        calendarId="primary", singleEvents=True, maxResults=2, pageToken=first["nextPageToken"]
    ).execute()
    assert first["kind"] == "calendar#events"
    assert [e["id"] for e in first["items"] + second["items"]] == ["ev0", "ev1", "ev2"]
    token = second["nextSyncToken"]
    fake.cancel_event("ev1")
    changed = events.list(calendarId="primary", singleEvents=True, syncToken=token).execute()
    assert [(e["id"], e["status"]) for e in changed["items"]] == [("ev1", "cancelled")]
    fake.expire_calendar_sync()
    with pytest.raises(HttpError) as caught:
        events.list(calendarId="primary", singleEvents=True, syncToken=token).execute()
    assert caught.value.resp.status == 410
    assert error_body(caught.value)["errors"][0]["reason"] == "fullSyncRequired"


def test_fail_next_429_with_retry_after_on_http_error(fake: FakeGoogle) -> None:
    gmail = service(fake, "gmail", "v1")
    fake.fail_next(1, 429, retry_after="7")
    with pytest.raises(HttpError) as caught:
        gmail.users().getProfile(userId="me").execute()
    exc = caught.value
    assert exc.resp.status == 429
    assert exc.resp["retry-after"] == "7"
    error = error_body(exc)
    assert error["errors"][0]["reason"] == "rateLimitExceeded"
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == "me@example.com"
    assert fake.faults == {429: 1} and fake.units_used == 1


def test_fault_rate_is_deterministic() -> None:
    patterns = []
    for _ in range(2):
        with FakeGoogle() as fake:
            gmail = service(fake, "gmail", "v1")
            fake.fault_rate(0.5, seed=3)
            pattern = []
            for _ in range(12):
                try:
                    gmail.users().getProfile(userId="me").execute()
                    pattern.append(200)
                except HttpError as exc:
                    assert exc.resp["retry-after"] == "0"
                    pattern.append(exc.resp.status)
            patterns.append(pattern)
    assert patterns[0] == patterns[1]
    assert 200 in patterns[0] and set(patterns[0]) - {200} <= {429, 503}
    assert set(patterns[0]) != {200}


def test_quota_per_minute_refuses_over_a_sliding_minute() -> None:
    now = [100.0]
    with FakeGoogle(quota_per_minute=10, clock=lambda: now[0]) as fake:
        gmail = service(fake, "gmail", "v1")
        for _ in range(2):
            gmail.users().messages().list(userId="me").execute()
            now[0] += 1
        with pytest.raises(HttpError) as caught:
            gmail.users().messages().list(userId="me").execute()
        assert caught.value.resp.status == 429
        now[0] += 60
        gmail.users().messages().list(userId="me").execute()
    assert fake.units_used == 15
    assert fake.quota_refusals == 1
    assert fake.peak_units(60.0) == 10
    assert [units for _, units, _ in fake.spends] == [5, 5, 5]


def test_max_concurrent_counts_requests_in_flight() -> None:
    with FakeGoogle() as fake:
        gmails = [service(fake, "gmail", "v1") for _ in range(3)]
        for gmail in gmails:  # refresh first, so that only the slow calls overlap
            gmail.users().getProfile(userId="me").execute()
        assert fake.max_concurrent == 1
        fake.delay = 0.1
        threads = [
            threading.Thread(target=g.users().getProfile(userId="me").execute) for g in gmails
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert fake.max_concurrent >= 2
    assert fake.crashes == []


def test_fields_mask_syntax() -> None:
    message = {
        "id": "1",
        "snippet": "",
        "payload": {"mimeType": "text/plain", "headers": [{"name": "From", "value": "x"}]},
    }
    assert apply_fields(message, parse_fields("payload(headers)")) == {
        "payload": {"headers": [{"name": "From", "value": "x"}]}
    }
    assert apply_fields(message, parse_fields("id,payload/headers/name")) == {
        "id": "1",
        "payload": {"headers": [{"name": "From"}]},
    }
    with pytest.raises(ValueError):
        parse_fields("payload(headers")
