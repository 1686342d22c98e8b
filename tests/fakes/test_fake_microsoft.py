"""The fake Microsoft identity platform and Graph, driven by the real msal and requests."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import certifi
import msal
import pytest
import requests

from tests.fakes.microsoft import FakeMicrosoft

CLIENT_ID = "0a1b2c3d-1111-4222-8333-444455556666"
SECRET = "fake-client-secret"
GRAPH_DEFAULT = ["https://graph.microsoft.com/.default"]
BASE = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE replace session.verify, and msal's
    confidential client would turn REGION_NAME / MSAL_FORCE_REGION into a regional host."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "REGION_NAME", "MSAL_FORCE_REGION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake() -> Iterator[FakeMicrosoft]:
    with FakeMicrosoft(client_id=CLIENT_ID, client_secret=SECRET) as server:
        yield server
        assert server.crashes == []


def session(fake: FakeMicrosoft) -> requests.Session:
    """A plain session trusting the fake (safe here: clean_environment cleared the bundles)."""
    http = requests.Session()
    http.verify = fake.ca_file
    return http


def public_app(
    fake: FakeMicrosoft, cache: msal.TokenCache | None = None
) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(
        CLIENT_ID,
        authority=fake.authority,
        http_client=session(fake),
        instance_discovery=False,
        token_cache=cache,
    )


def app_only(fake: FakeMicrosoft, secret: str = SECRET) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=secret,
        authority=fake.authority,
        http_client=session(fake),
        instance_discovery=False,
    )


def sign_in(
    fake: FakeMicrosoft, app: msal.PublicClientApplication, scopes: list[str] | None = None
) -> dict[str, Any]:
    """The device code flow, approved before the first poll (so nobody sleeps)."""
    flow = app.initiate_device_flow(scopes=scopes or ["Mail.Read", "Contacts.Read"])
    fake.approve_device(flow["user_code"])
    result: dict[str, Any] = app.acquire_token_by_device_flow(flow)
    assert "access_token" in result, result
    return result


def user_token(fake: FakeMicrosoft, scopes: list[str] | None = None) -> str:
    return str(sign_in(fake, public_app(fake), scopes)["access_token"])


def app_token(fake: FakeMicrosoft) -> str:
    return str(app_only(fake).acquire_token_for_client(GRAPH_DEFAULT)["access_token"])


def get(fake: FakeMicrosoft, token: str | None, url: str, **headers: str) -> requests.Response:
    """GET a Graph path (relative to /v1.0) or a full link."""
    if not url.startswith("https://"):
        url = fake.graph_endpoint + url
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return session(fake).get(url, headers=headers)


def delta_round(
    fake: FakeMicrosoft, token: str, url: str, **headers: str
) -> tuple[list[dict[str, Any]], str]:
    """Follow nextLinks to the deltaLink: (the pages' bodies, the deltaLink)."""
    pages: list[dict[str, Any]] = []
    while True:
        response = get(fake, token, url, **headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        pages.append(body)
        assert ("@odata.nextLink" in body) != ("@odata.deltaLink" in body)
        if "@odata.deltaLink" in body:
            return pages, str(body["@odata.deltaLink"])
        url = body["@odata.nextLink"]


def add_messages(
    fake: FakeMicrosoft, count: int, folder: str = "inbox", start: int = 0
) -> list[str]:
    return [
        fake.add_message(
            folder,
            from_=f"Person {i} <p{i}@example.org>",
            to=["me@example.com", ("Other", "other@example.org")],
            cc=["cc@example.org"] if i % 2 else [],
            sent=BASE + timedelta(minutes=i),
            received=BASE + timedelta(minutes=i, seconds=30),
            internet_message_id=f"<m{i}@example.org>",
            subject=f"hello {i}",
        )
        for i in range(start, start + count)
    ]


# --------------------------------------------------------------------------- identity platform


def test_openid_configuration_points_at_the_fake(fake: FakeMicrosoft) -> None:
    http = session(fake)
    config = http.get(fake.authority + "/v2.0/.well-known/openid-configuration").json()
    tenant_base = fake.root + fake.tenant_id
    assert config["token_endpoint"] == tenant_base + "/oauth2/v2.0/token"
    assert config["device_authorization_endpoint"] == tenant_base + "/oauth2/v2.0/devicecode"
    assert config["issuer"] == tenant_base + "/v2.0"
    common = http.get(fake.root + "common/v2.0/.well-known/openid-configuration").json()
    assert common["token_endpoint"] == fake.root + "common/oauth2/v2.0/token"
    assert common["issuer"] == fake.root + "{tenantid}/v2.0"
    by_domain = http.get(fake.root + "contoso.example/v2.0/.well-known/openid-configuration")
    assert by_domain.json()["token_endpoint"] == config["token_endpoint"]
    unknown = http.get(fake.root + "nowhere/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_tenant"
    with pytest.raises(ValueError, match="Unable to get authority configuration"):
        msal.PublicClientApplication(
            CLIENT_ID,
            authority=fake.root + "nowhere",
            http_client=http,
            instance_discovery=False,
        )


def test_device_flow_then_silent_refresh_from_a_persisted_cache(fake: FakeMicrosoft) -> None:
    cache = msal.SerializableTokenCache()
    app = public_app(fake, cache)
    flow = app.initiate_device_flow(scopes=["Mail.Read"])
    assert flow["interval"] == 1 and flow["user_code"] in flow["message"]
    assert flow["verification_uri"] == fake.root + "devicelogin"
    fake.approve_device(flow["user_code"])
    result = app.acquire_token_by_device_flow(flow)
    assert result["token_type"] == "Bearer" and result["refresh_token"]
    claims = result["id_token_claims"]
    assert claims["preferred_username"] == fake.user == "me@example.com"
    assert (claims["aud"], claims["tid"], claims["oid"]) == (
        CLIENT_ID,
        fake.tenant_id,
        fake.user_id(),
    )
    assert fake.device_codes_issued == 1 and fake.device_polls == 1

    # Persist the cache with its access token expired: a new app must refresh at the fake.
    state = json.loads(cache.serialize())
    for entry in state["AccessToken"].values():
        entry["expires_on"] = str(int(time.time()) - 60)
    restored = msal.SerializableTokenCache()
    restored.deserialize(json.dumps(state))
    later = public_app(fake, restored)
    [account] = later.get_accounts()
    assert account["username"] == fake.user
    assert account["home_account_id"] == f"{fake.user_id()}.{fake.tenant_id}"
    refreshed = later.acquire_token_silent(["Mail.Read"], account=account)
    assert refreshed is not None and refreshed["token_source"] == "identity_provider"
    assert refreshed["access_token"] != result["access_token"]
    assert fake.refresh_count == 1
    cached = later.acquire_token_silent(["Mail.Read"], account=account)
    assert cached is not None and cached["token_source"] == "cache"
    assert fake.refresh_count == 1

    me = get(fake, refreshed["access_token"], "/me")
    assert me.status_code == 200
    assert me.json()["userPrincipalName"] == fake.user and me.json()["id"] == fake.user_id()


def test_device_flow_pending_polls_denied_and_expired(fake: FakeMicrosoft) -> None:
    app = public_app(fake)
    flow = app.initiate_device_flow(scopes=["Mail.Read"])
    fake.approve_device(flow["user_code"], after_polls=2)
    flow["interval"] = 0  # msal sleeps `interval` seconds between polls
    assert "access_token" in app.acquire_token_by_device_flow(flow)
    assert fake.device_polls == 3

    denied = app.initiate_device_flow(scopes=["Mail.Read"])
    fake.deny_device(denied["user_code"])
    assert app.acquire_token_by_device_flow(denied)["error"] == "authorization_declined"
    expired = app.initiate_device_flow(scopes=["Mail.Read"])
    fake.expire_device()  # the latest device code
    assert app.acquire_token_by_device_flow(expired)["error"] == "expired_token"
    waiting = app.initiate_device_flow(scopes=["Mail.Read"])
    waiting["expires_at"] = 0  # msal's documented way to stop polling
    pending = app.acquire_token_by_device_flow(waiting)
    assert pending["error"] == "authorization_pending"
    assert pending["error_codes"] == [70016]
    assert fake.device_codes_issued == 4 and fake.device_polls == 6


def test_client_credentials_and_app_only_paths(fake: FakeMicrosoft) -> None:
    cca = app_only(fake)
    first = cca.acquire_token_for_client(GRAPH_DEFAULT)
    assert first["token_type"] == "Bearer" and "refresh_token" not in first
    again = cca.acquire_token_for_client(GRAPH_DEFAULT)
    assert again["token_source"] == "cache" and fake.client_credentials_count == 1
    token = first["access_token"]
    mailbox = get(fake, token, f"/users/{fake.user}/mailFolders/inbox/messages/delta")
    assert mailbox.status_code == 200
    by_id = get(fake, token, f"/users/{fake.user_id()}/contacts/delta")
    assert by_id.status_code == 200
    me = get(fake, token, "/me/mailFolders/inbox/messages/delta")
    assert me.status_code == 400
    assert me.json()["error"]["message"] == (
        "/me request is only valid with delegated authentication flow."
    )
    nobody = get(fake, token, "/users/nobody@example.com/mailFolders/inbox/messages/delta")
    assert (nobody.status_code, nobody.json()["error"]["code"]) == (404, "ErrorInvalidUser")

    wrong = app_only(fake, "not-the-secret").acquire_token_for_client(GRAPH_DEFAULT)
    assert wrong["error"] == "invalid_client"
    bare = app_only(fake).acquire_token_for_client(["Mail.Read"])
    assert bare["error"] == "invalid_scope"
    with pytest.warns(DeprecationWarning, match="/common"):
        common = msal.ConfidentialClientApplication(
            CLIENT_ID,
            client_credential=SECRET,
            authority=fake.authority_for("common"),
            http_client=session(fake),
            instance_discovery=False,
        ).acquire_token_for_client(GRAPH_DEFAULT)
    assert common["error"] == "invalid_request"


def test_user_token_reaches_only_its_own_mailbox_and_scopes(fake: FakeMicrosoft) -> None:
    fake.add_user("colleague@example.com", "A Colleague")
    token = user_token(fake, ["Mail.Read"])
    assert get(fake, token, f"/users/{fake.user}/mailFolders/inbox/messages/delta").ok
    other = get(fake, token, "/users/colleague@example.com/mailFolders/inbox/messages/delta")
    assert (other.status_code, other.json()["error"]["code"]) == (403, "ErrorAccessDenied")
    contacts = get(fake, token, "/me/contacts/delta")  # Contacts.Read was not asked for
    assert (contacts.status_code, contacts.json()["error"]["code"]) == (403, "ErrorAccessDenied")
    assert get(fake, token, "/me").ok  # User.Read is consented for every user token


def test_token_endpoint_429_is_replayed_by_msal_without_a_request(fake: FakeMicrosoft) -> None:
    cca = app_only(fake)
    fake.fail_token_next(429, retry_after="5")
    first = cca.acquire_token_for_client(GRAPH_DEFAULT)
    assert first["error"] == "temporarily_unavailable" and first["error_codes"] == [90055]
    second = cca.acquire_token_for_client(GRAPH_DEFAULT)
    assert second["error"] == "temporarily_unavailable"
    # msal's ThrottledHttpClient answered the second call from its own cache.
    assert fake.token_requests["client_credentials"] == 1
    assert fake.token_faults == 1 and fake.client_credentials_count == 0


def test_revoked_refresh_tokens_and_rejected_access_tokens(fake: FakeMicrosoft) -> None:
    app = public_app(fake)
    token = sign_in(fake, app)["access_token"]
    [account] = app.get_accounts()
    fake.revoke_refresh_tokens()
    failed = app.acquire_token_silent_with_error(["Mail.Read"], account, force_refresh=True)
    assert failed is not None and failed["error"] == "invalid_grant"
    assert "AADSTS50173" in failed["error_description"]
    assert fake.refresh_count == 0

    def error_of(response: requests.Response) -> tuple[int, str, str]:
        error = response.json()["error"]
        return response.status_code, error["code"], error["message"]

    missing = get(fake, None, "/me")
    assert error_of(missing) == (401, "InvalidAuthenticationToken", "Access token is empty.")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(get(fake, "not-issued", "/me"))[:2] == (401, "InvalidAuthenticationToken")
    fake.expire_access_tokens()
    assert error_of(get(fake, token, "/me")) == (
        401,
        "InvalidAuthenticationToken",
        "Lifetime validation failed, the token is expired.",
    )


def test_fake_session_is_immune_to_ca_bundle_variables(
    fake: FakeMicrosoft, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = fake.authority + "/v2.0/.well-known/openid-configuration"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    with pytest.raises(requests.exceptions.SSLError):
        session(fake).get(url)  # the variable replaced session.verify
    deadline = time.monotonic() + 2  # the server notices the aborted handshake in its thread
    while fake.tls_failures == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.tls_failures >= 1
    assert requests.get(url, verify=fake.ca_file).ok  # a per-request verify still wins
    assert fake.session().get(url).ok  # trust_env off


# --------------------------------------------------------------------------- Graph delta


def test_message_delta_pages_select_and_incremental_round(fake: FakeMicrosoft) -> None:
    ids = add_messages(fake, 25)
    fake.max_page_size = 10  # the server returns fewer than the client asks for
    token = user_token(fake)
    select = "from,toRecipients,ccRecipients,internetMessageId,receivedDateTime"
    prefer = 'odata.maxpagesize=50, IdType="ImmutableId"'
    first = get(
        fake, token, f"/me/mailFolders/Inbox/messages/delta?$select={select}", Prefer=prefer
    )
    assert first.headers["Preference-Applied"] == 'odata.maxpagesize=10, IdType="ImmutableId"'
    pages, delta_link = delta_round(
        fake, token, f"/me/mailFolders/inbox/messages/delta?$select={select}", Prefer=prefer
    )
    assert [len(page["value"]) for page in pages] == [10, 10, 5]
    assert all("$skiptoken=" in page["@odata.nextLink"] for page in pages[:-1])
    assert "$deltatoken=" in delta_link
    items = [item for page in pages for item in page["value"]]
    assert [item["id"] for item in items] == ids[::-1]  # newest first
    assert set(items[0]) == {"@odata.type", "@odata.etag", "id", *select.split(",")}
    assert items[0]["from"] == {"emailAddress": {"name": "Person 24", "address": "p24@example.org"}}
    assert items[0]["toRecipients"][0] == {
        "emailAddress": {"name": "me@example.com", "address": "me@example.com"}
    }
    assert items[0]["receivedDateTime"] == "2024-03-01T12:24:30Z"
    assert items[1]["ccRecipients"] == [
        {"emailAddress": {"name": "cc@example.org", "address": "cc@example.org"}}
    ]
    assert fake.pages["inbox"] == 4 and fake.calls["messages.delta"] == 4

    new = add_messages(fake, 2, start=100)
    fake.delete_message(ids[0])
    fake.add_message(
        "sentitems",
        from_="me@example.com",
        to=["x@example.org"],
        sent=BASE,
        received=BASE,
        internet_message_id="<sent@example.com>",
        headers={"List-Unsubscribe": "<mailto:leave@example.com>"},
    )
    changes, next_link = delta_round(fake, token, delta_link)
    changed = changes[0]["value"]
    assert [item["id"] for item in changed] == [*new, ids[0]]
    assert changed[-1] == {
        "@odata.type": "#microsoft.graph.message",
        "id": ids[0],
        "@removed": {"reason": "deleted"},
    }
    assert set(changed[0]) == set(items[0])  # the round keeps its $select
    quiet, _ = delta_round(fake, token, next_link)
    assert quiet[0]["value"] == []

    full = get(fake, token, "/me/mailFolders/sentitems/messages/delta").json()["value"]
    assert "subject" in full[0] and "internetMessageHeaders" not in full[0]
    headers = get(
        fake, token, "/me/mailFolders/sentitems/messages/delta?$select=internetMessageHeaders"
    ).json()["value"][0]["internetMessageHeaders"]
    assert {"name": "Message-ID", "value": "<sent@example.com>"} in headers
    assert {"name": "List-Unsubscribe", "value": "<mailto:leave@example.com>"} in headers
    bad = get(fake, token, "/me/mailFolders/inbox/messages/delta?$select=nonsense")
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "RequestBroker--ParseUri")


def test_message_delta_filter_top_moves_and_folders(fake: FakeMicrosoft) -> None:
    ids = add_messages(fake, 6)
    projects = fake.add_folder("Projects")
    token = user_token(fake)
    query = (
        "$filter=receivedDateTime ge 2024-03-01T12:02:00Z&$orderby=receivedDateTime desc"
        "&$top=3&$select=subject"
    )
    pages, inbox_link = delta_round(
        fake, token, f"/me/mailFolders/inbox/messages/delta?{query}", Prefer="odata.maxpagesize=2"
    )
    assert [[m["subject"] for m in page["value"]] for page in pages] == [
        ["hello 5", "hello 4"],
        ["hello 3"],
    ]
    fake.move_message(ids[5], "Projects")
    [moved_out] = delta_round(fake, token, inbox_link)[0][0]["value"]
    assert moved_out["id"] == ids[5] and moved_out["@removed"] == {"reason": "deleted"}
    [moved_in] = get(fake, token, f"/me/mailFolders/{projects}/messages/delta").json()["value"]
    assert moved_in["id"] == ids[5] and moved_in["parentFolderId"] == projects
    # Graph takes well-known names and ids in URLs, not display names.
    by_name = get(fake, token, "/me/mailFolders/Projects/messages/delta")
    assert by_name.json()["error"]["code"] == "ErrorInvalidIdMalformed"
    unsupported = get(fake, token, "/me/mailFolders/inbox/messages/delta?$filter=subject eq 'x'")
    assert unsupported.json()["error"]["code"] == "ErrorInvalidUrlQueryFilter"
    folders = get(fake, token, "/me/mailFolders?$top=50").json()["value"]
    assert {"Inbox", "Sent Items", "Projects"} <= {f["displayName"] for f in folders}
    inbox = get(fake, token, "/me/mailFolders('Inbox')").json()
    assert inbox["id"] == fake.folder_id("inbox") and inbox["totalItemCount"] == 5


def test_expired_delta_tokens_answer_410_and_a_full_sync_recovers(fake: FakeMicrosoft) -> None:
    add_messages(fake, 3)
    token = user_token(fake)
    url = "/me/mailFolders/inbox/messages/delta?$select=subject"
    halfway = get(fake, token, url, Prefer="odata.maxpagesize=2").json()["@odata.nextLink"]
    _, delta_link = delta_round(fake, token, url)
    fake.expire_delta("inbox")
    for stale in (delta_link, halfway):
        gone = get(fake, token, stale)
        assert gone.status_code == 410
        assert gone.json()["error"]["code"] == "SyncStateNotFound"
        assert set(gone.json()["error"]) == {"code", "message", "innerError"}
    location = get(fake, token, delta_link).headers["Location"]
    pages, fresh_link = delta_round(fake, token, location)
    assert len(pages[0]["value"]) == 3 and set(pages[0]["value"][0]) >= {"subject", "id"}
    assert get(fake, token, fresh_link).status_code == 200

    fake.expire_delta("inbox", status=400, code="syncStateNotFound")
    variant = get(fake, token, fresh_link)
    assert (variant.status_code, variant.json()["error"]["code"]) == (400, "syncStateNotFound")


def test_contacts_and_calendar_view_delta(fake: FakeMicrosoft) -> None:
    token = user_token(fake, ["Mail.Read", "Contacts.Read", "Calendars.Read"])
    ada = fake.add_contact(
        "Ada Lovelace",
        emails=["Ada <ada@example.org>"],
        business_phones=["+44 20 7946 0000"],
        company_name="Analytical Engines",
        job_title="Programmer",
    )
    bob = fake.add_contact("Bob Stone", emails=[("Bob", "bob@example.org")])
    pages, contacts_link = delta_round(fake, token, "/me/contacts/delta")
    first = pages[0]["value"][0]
    assert (first["id"], first["givenName"], first["surname"]) == (ada, "Ada", "Lovelace")
    assert first["emailAddresses"] == [{"name": "Ada", "address": "ada@example.org"}]
    assert first["businessPhones"] == ["+44 20 7946 0000"] and first["jobTitle"] == "Programmer"
    fake.update_contact(ada, jobTitle="Countess")
    fake.delete_contact(bob)
    changes, _ = delta_round(fake, token, contacts_link)
    assert [(c["id"], c.get("jobTitle"), "@removed" in c) for c in changes[0]["value"]] == [
        (ada, "Countess", False),
        (bob, None, True),
    ]

    meeting = fake.add_event(
        "Planning",
        start=BASE,
        end=BASE + timedelta(hours=1),
        organizer="Ada <ada@example.org>",
        attendees=[
            "me@example.com",
            (("Bob", "bob@example.org"), "optional", "tentativelyAccepted"),
            ("room@example.org", "resource"),
        ],
    )
    later = BASE + timedelta(days=60)
    fake.add_event("Later", start=later, end=later + timedelta(hours=1), organizer="me@example.com")
    window = "startDateTime=2024-02-01T00:00:00Z&endDateTime=2024-04-01T00:00:00Z"
    pages, calendar_link = delta_round(fake, token, f"/me/calendarView/delta?{window}")
    [event] = pages[0]["value"]
    assert event["id"] == meeting and event["isCancelled"] is False
    assert event["start"] == {"dateTime": "2024-03-01T12:00:00.0000000", "timeZone": "UTC"}
    assert event["organizer"] == {"emailAddress": {"name": "Ada", "address": "ada@example.org"}}
    attendees = [
        (a["emailAddress"]["address"], a["type"], a["status"]["response"])
        for a in event["attendees"]
    ]
    assert attendees == [
        ("me@example.com", "required", "none"),
        ("bob@example.org", "optional", "tentativelyAccepted"),
        ("room@example.org", "resource", "none"),
    ]
    fake.cancel_event(meeting)
    [cancelled] = delta_round(fake, token, calendar_link)[0][0]["value"]
    assert cancelled["isCancelled"] is True and cancelled["subject"] == "Canceled: Planning"

    refused = get(fake, token, f"/me/calendarView/delta?{window}&$select=subject")
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "ErrorInvalidUrlQuery")
    windowless = get(fake, token, "/me/calendarView/delta")
    assert windowless.json()["error"]["code"] == "ErrorInvalidParameter"


# --------------------------------------------------------------------------- batch and limits


def batch(fake: FakeMicrosoft, token: str, urls: list[str]) -> requests.Response:
    payload: dict[str, Any] = {
        "requests": [
            {
                "id": str(i),
                "method": "GET",
                "url": url,
                "headers": {"Prefer": "odata.maxpagesize=5"},
            }
            for i, url in enumerate(urls, 1)
        ]
    }
    return session(fake).post(
        fake.graph_endpoint + "/$batch",
        json=payload,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_batch_with_a_throttled_item_and_its_retry_after(fake: FakeMicrosoft) -> None:
    add_messages(fake, 7)
    token = user_token(fake, ["Mail.Read", "Contacts.Read", "Calendars.Read"])
    fake.reset_ledger()
    urls = [
        "/me/mailFolders/inbox/messages/delta?$select=subject",
        "/me/contacts/delta",
        "/me/calendarView/delta?startDateTime=2024-01-01T00:00:00Z&endDateTime=2024-12-31T00:00:00Z",
    ]
    fake.fail_next(1, retry_after="0.3", kind="contacts.delta")
    answer = batch(fake, token, urls)
    assert answer.status_code == 200
    responses = {r["id"]: r for r in answer.json()["responses"]}
    assert [responses[i]["status"] for i in ("1", "2", "3")] == [200, 429, 200]
    assert responses["2"]["headers"]["Retry-After"] == "0.3"
    assert responses["2"]["body"]["error"]["code"] == "TooManyRequests"
    assert len(responses["1"]["body"]["value"]) == 5 and "@odata.nextLink" in responses["1"]["body"]
    assert fake.requests == 1 and fake.calls["batch"] == 1 and fake.calls["contacts.delta"] == 1

    assert batch(fake, token, urls[1:2]).json()["responses"][0]["status"] == 200
    assert fake.early_retries == 1  # sent before the 0.3 s were over
    time.sleep(0.3)
    assert batch(fake, token, urls[1:2]).json()["responses"][0]["status"] == 200
    assert fake.early_retries == 1

    too_many = batch(fake, token, [urls[0]] * 21)
    assert too_many.status_code == 400 and too_many.json()["error"]["code"] == "BadRequest"
    assert fake.batch_sizes == [3, 1, 1, 21]


def test_throttle_rate_is_deterministic(fake: FakeMicrosoft) -> None:
    token = user_token(fake)
    fake.throttle_rate(0.5, seed=7, retry_after="0")
    answer = batch(fake, token, ["/me/mailFolders/inbox/messages/delta"] * 10)
    statuses = [r["status"] for r in answer.json()["responses"]]
    draws = random.Random(7)
    assert statuses == [429 if draws.random() < 0.5 else 200 for _ in range(10)]
    assert fake.throttled["TooManyRequests"] == statuses.count(429) > 0


def test_at_most_four_graph_requests_in_flight(fake: FakeMicrosoft) -> None:
    token = app_token(fake)
    fake.delay = 0.25
    url = f"/users/{fake.user}/mailFolders/inbox/messages/delta"

    def burst(count: int) -> list[requests.Response]:
        sessions = [session(fake) for _ in range(count)]
        for http in sessions:  # connect (TLS) first, so the requests themselves overlap
            http.get(fake.root + "devicelogin")
        start = threading.Barrier(count)
        answers: list[requests.Response] = []

        def one(http: requests.Session) -> None:
            start.wait()
            answers.append(
                http.get(fake.graph_endpoint + url, headers={"Authorization": f"Bearer {token}"})
            )

        threads = [threading.Thread(target=one, args=(http,)) for http in sessions]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return answers

    answers = burst(6)
    refused = [a for a in answers if a.status_code == 429]
    assert refused and fake.max_concurrent_seen >= 5
    assert refused[0].json()["error"]["code"] == "ApplicationThrottled"
    assert refused[0].headers["Retry-After"] == "1"
    assert fake.concurrency_refusals == len(refused)

    fake.reset_ledger()
    fake.clear_retry_after()
    assert all(a.status_code == 200 for a in burst(4))
    assert fake.max_concurrent_seen <= 4 and fake.concurrency_refusals == 0
