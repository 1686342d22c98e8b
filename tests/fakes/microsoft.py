"""A fake Microsoft identity platform and Microsoft Graph for offline tests, over real TLS.

The real ``msal`` library and plain ``requests`` work against it unchanged::

    fake = FakeMicrosoft().start()           # or: with FakeMicrosoft() as fake:
    session = fake.session()                 # requests.Session: verify=fake.ca_file, trust_env off
    app = msal.PublicClientApplication(
        "client-id", authority=fake.authority, http_client=session, instance_discovery=False)
    flow = app.initiate_device_flow(scopes=["Mail.Read"])
    fake.approve_device(flow["user_code"])   # before polling: the first poll succeeds
    token = app.acquire_token_by_device_flow(flow)["access_token"]
    session.get(fake.graph_endpoint + "/me/mailFolders/inbox/messages/delta",
                headers={"Authorization": "Bearer " + token})

TLS. msal refuses an authority that is not https, so the server speaks TLS with a throwaway
self-signed certificate made in-process by ``cryptography`` (an EC P-256 leaf, no CA, with
subjectAltName IP 127.0.0.1 and DNS localhost; see `tls_files`). ``ca_file`` is its PEM path:
clients trust it with ``verify=ca_file``. Beware: when a ``requests.Session`` trusts the
environment (the default), REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE *replace* ``session.verify``
(only a per-request ``verify=`` argument other than True/None wins over them), so a session with
``.verify = ca_file`` fails with CERTIFICATE_VERIFY_FAILED wherever those variables are set.
`FakeMicrosoft.session` therefore also sets ``trust_env = False`` (which also ignores proxy
variables and .netrc); tests that build their own sessions should clear both variables
(``monkeypatch.delenv``) or pass ``verify=`` on every request.

msal configuration. ``authority`` is ``https://127.0.0.1:PORT/<tenant>`` where tenant is the
fake's ``tenant_id``, its ``tenant_domain``, ``common``, ``organizations`` or ``consumers``
(anything else: 400 invalid_tenant, which msal reports as ValueError). Pass
``instance_discovery=False`` (or ``validate_authority=False``): otherwise msal asks
``https://login.microsoftonline.com/common/discovery/instance`` about the unknown host, which
leaves the machine. msal then GETs ``<authority>/v2.0/.well-known/openid-configuration`` (its
2xx answers are cached per application object for 24 h) and takes token_endpoint and
device_authorization_endpoint from it; the tenant segment of token_endpoint becomes the cache
"realm" and the authority's host without port (``127.0.0.1``) its "environment". The
confidential client also consults REGION_NAME / MSAL_FORCE_REGION (a region would make msal
call ``<region>.127.0.0.1``): keep them unset or pass ``azure_region=False``.

msal's HTTP throttling (msal/throttled_http_client.py) matters to tests: a token-endpoint
answer that is 429, 5xx or carries Retry-After is cached and *replayed without a request* for
Retry-After seconds (at most 3600; 60 s for a public client and 5 s for a confidential one when
the header is missing), keyed by URL, client_id, scope and the refresh token (or device code);
a 400 from a non-device-code grant (e.g. invalid_grant after `revoke_refresh_tokens`) is
replayed for 60 s. msal raises on 5xx token answers and returns the JSON of 4xx ones.

Identity platform (per tenant):

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``; ``GET /{tenant}/discovery/v2.0/keys``
  (an empty key set: msal never checks signatures).
- ``POST /{tenant}/oauth2/v2.0/devicecode``: device_code, user_code, verification_uri (``GET
  /devicelogin`` is a plain page), expires_in, interval (``device_interval``, 1), message.
- ``POST /{tenant}/oauth2/v2.0/token``: grant types device_code (authorization_pending until
  `approve_device`; `deny_device`, `expire_device`), refresh_token and client_credentials
  (scope ``<resource>/.default``; a tenant, not common/organizations). User answers carry
  access_token, token_type, expires_in, ext_expires_in, scope, refresh_token (scope
  offline_access), id_token (scope openid) and client_info (form client_info=1, as msal sends).
  The id_token is an unsigned-in-effect JWT (header.payload.signature, base64url) with iss,
  sub, aud=client_id, tid, oid, preferred_username, name, iat, nbf, exp, ver 2.0; msal only
  decodes it, and client_info ``{"uid": oid, "utid": tid}`` gives the cached account its
  home_account_id ``oid.tid``. Errors are AAD's JSON: error, error_description ("AADSTSnnnn:
  ..."), error_codes, timestamp, trace_id, correlation_id.

Graph (``https://127.0.0.1:PORT/v1.0``; ``me`` or ``users/{id-or-upn}``, also ``users('x')``):

- ``GET /me`` (user), ``/me/mailFolders`` (top-level folders, $top/$skip),
  ``/me/mailFolders/{id}`` (well-known name, case-insensitive, or id).
- ``GET /me/mailFolders/{id}/messages/delta``: $select (unknown property: 400), $filter
  ``receivedDateTime ge|gt <iso>``, $orderby ``receivedDateTime desc``, $top (caps the first
  round), ``Prefer: odata.maxpagesize=N`` (at most ``max_page_size``; ``default_page_size``
  without it) and ``Prefer: IdType="ImmutableId"`` (accepted; ids never change here anyway),
  both echoed in Preference-Applied. Full rounds are newest first.
- ``GET /me/contacts/delta`` and ``/me/contactFolders/{id}/contacts/delta`` ($select).
- ``GET /me/calendarView/delta?startDateTime=..&endDateTime=..`` (also ``/me/calendar/...``);
  like Graph it refuses $select/$filter/$orderby/$expand/$search/$top there (400).
- Delta paging: ``@odata.nextLink`` (``...microsoft.graph.delta()?$skiptoken=<opaque>``, the form
  Graph itself uses, so clients must follow links verbatim) until the last page, which carries
  ``@odata.deltaLink`` (``$deltatoken=<opaque>``). A deltaLink returns what changed since:
  present items in full, removed ones as ``{"@odata.type", "id", "@removed": {"reason":
  "deleted"}}``. Items carry "@odata.type" and "@odata.etag" annotations besides properties.
  After `expire_delta` older skip/delta tokens of that collection answer 410 Gone with
  ``{"error": {"code": "SyncStateNotFound", "message": ..., "innerError": {...}}}`` and a
  Location header holding a fresh initial delta URL.
- ``POST /v1.0/$batch``: JSON batching, at most ``batch_limit`` (20) requests (more: 400 for the
  whole batch); relative urls (``/me/...`` without ``/v1.0``); the outer Authorization applies
  to every item; dependsOn honoured (424 after a failed dependency); each item may be its own
  429 with a Retry-After header.

Every Graph call needs ``Authorization: Bearer <access token issued here for Graph>``; a missing,
unknown, expired or revoked token gets 401 ``{"error": {"code": "InvalidAuthenticationToken",
"message": ...}}``. App-only tokens may use only ``/users/...`` (``/me`` is Graph's 400 "/me
request is only valid with delegated authentication flow."); user tokens may use ``/me`` and
their own ``/users/{upn-or-id}`` (anyone else's: 403 ErrorAccessDenied). With ``check_scopes``
the token must hold a fitting permission (Mail.Read*, Contacts.Read*, Calendars.Read*,
User.Read*), else 403 ErrorAccessDenied: delegated tokens hold the scopes asked for plus
``consented`` (User.Read), app-only tokens ``app_roles``.

Throttling: `throttle_rate` and `fail_next` answer Graph calls (batch items included) 429
``{"error": {"code": "TooManyRequests", ...}}`` with Retry-After; more than ``max_concurrent``
(4) Graph HTTP requests in flight gets the newcomer 429 ``ApplicationThrottled`` ("Application is
over its MailboxConcurrency limit."). Each 429 records when its Retry-After ends for that client
(client_id plus user, or the app); a later Graph request from that client arriving earlier is
counted in ``early_retries`` (and refused again with ``strict_retry_after``).

Everything is stdlib apart from ``cryptography`` (certificate) and, for `FakeMicrosoft.session`,
``requests``: a ThreadingHTTPServer on 127.0.0.1 (port 0) in a daemon thread, TLS handshakes in
the per-connection threads, all state under one lock.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import ipaddress
import json
import math
import os
import random
import re
import secrets
import ssl
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from tests.fakes.loopback import LoopbackServer

if TYPE_CHECKING:
    import requests

__all__ = [
    "DEVICE_CODE_GRANT",
    "GRAPH_RESOURCE",
    "FakeMicrosoft",
    "Reply",
    "aad_error",
    "graph_error",
    "tls_files",
]

JSON = dict[str, Any]
#: A mail address as tests give it: "Name <a@b>", "a@b" or (name, address).
Address = str | tuple[str, str]
#: An attendee: an Address (required, no response yet), (Address, type) or
#: (Address, type, response), or a Graph attendee object as is.
Attendee = Address | tuple[Address, str] | tuple[Address, str, str] | Mapping[str, Any]

GRAPH_RESOURCE = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: Delegated permissions every user token holds (Entra adds consented scopes to every token).
DEFAULT_CONSENTED: tuple[str, ...] = ("User.Read",)
#: Application permissions (roles) of app-only tokens.
DEFAULT_APP_ROLES: tuple[str, ...] = (
    "User.Read.All",
    "Mail.Read",
    "Contacts.Read",
    "Calendars.Read",
)

_OIDC_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
_SPECIAL_TENANTS = ("common", "organizations", "consumers")
_GRAPH_JSON = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)
_AAD_JSON = "application/json; charset=utf-8"

#: Well-known mail folder names and display names (msgfolderroot is their parent).
_WELL_KNOWN_FOLDERS = {
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "drafts": "Drafts",
    "deleteditems": "Deleted Items",
    "junkemail": "Junk Email",
    "archive": "Archive",
}

#: Permissions that allow each kind of call (delegated scopes or application roles).
_PERMISSIONS = {
    "user.get": frozenset(
        {"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "Directory.Read.All"}
    ),
    "mail": frozenset(
        {"Mail.ReadBasic", "Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic.All", "Mail.Read.Shared"}
    ),
    "contacts": frozenset({"Contacts.Read", "Contacts.ReadWrite", "Contacts.Read.Shared"}),
    "calendar": frozenset(
        {"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared"}
    ),
}
_NEEDS = {
    "user.get": "user.get",
    "mailFolders.list": "mail",
    "mailFolders.get": "mail",
    "messages.delta": "mail",
    "contacts.delta": "contacts",
    "calendarView.delta": "calendar",
}

#: (code, message) of the errors fail_next / throttle_rate inject, by status.
_FAULTS = {
    429: ("TooManyRequests", "Please retry again later."),
    500: ("InternalServerError", "An internal server error occurred."),
    502: ("BadGateway", "Bad Gateway"),
    503: ("ServiceUnavailable", "Service Unavailable"),
    504: ("GatewayTimeout", "Gateway Timeout"),
}
_CONCURRENCY_MESSAGE = "Application is over its MailboxConcurrency limit."
_EXPIRED_MESSAGE = (
    "The sync state generation is not found. The delta token is expired and data must be "
    "synchronized again."
)
_ACCESS_DENIED = "Access is denied. Check credentials and try again."

_MESSAGE_PROPERTIES = (
    "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "receivedDateTime",
    "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview", "importance",
    "parentFolderId", "conversationId", "isDeliveryReceiptRequested", "isReadReceiptRequested",
    "isRead", "isDraft", "webLink", "inferenceClassification", "body", "sender", "from",
    "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag", "internetMessageHeaders",
)  # fmt: skip
_CONTACT_PROPERTIES = (
    "createdDateTime", "lastModifiedDateTime", "changeKey", "categories", "parentFolderId",
    "birthday", "fileAs", "displayName", "givenName", "middleName", "nickName", "surname",
    "title", "jobTitle", "companyName", "department", "officeLocation", "businessHomePage",
    "personalNotes", "imAddresses", "emailAddresses", "businessPhones", "homePhones",
    "mobilePhone",
)  # fmt: skip
#: Properties a $select may name, by collection kind; the rest are returned without $select.
_SELECTABLE = {
    "messages": frozenset(_MESSAGE_PROPERTIES),
    "contacts": frozenset(_CONTACT_PROPERTIES),
}
_NOT_BY_DEFAULT = {"messages": frozenset({"internetMessageHeaders"}), "contacts": frozenset()}
_SINGULAR = {"messages": "message", "contacts": "contact", "calendarView": "event"}
_ATTENDEE_TYPES = frozenset({"required", "optional", "resource"})
_RESPONSES = frozenset(
    {"none", "organizer", "tentativelyAccepted", "accepted", "declined", "notResponded"}
)
_USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_CLAIMS = (
    "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
    "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
    "name", "tid", "ver", "at_hash", "c_hash", "email",
)  # fmt: skip


# --------------------------------------------------------------------------- TLS material

_TLS_LOCK = threading.Lock()
_TLS_DIR: tempfile.TemporaryDirectory[str] | None = None
_TLS_FILES: tuple[str, str] | None = None


def tls_files() -> tuple[str, str]:
    """(certificate PEM path, private key PEM path) of this process's throwaway certificate.

    Made once per process with ``cryptography``: a self-signed EC P-256 leaf (no CA) for
    subjectAltName IP 127.0.0.1 and DNS localhost, valid from an hour ago for two days, with
    basicConstraints CA:FALSE, keyUsage digitalSignature, extendedKeyUsage serverAuth and key
    identifiers, so it also passes OpenSSL's X509_STRICT checks (Python 3.13+ and urllib3 2 turn
    them on). The certificate is its own trust anchor: it is the file clients pass as
    ``verify=``. The files live in a temporary directory removed when the process exits.
    """
    global _TLS_DIR, _TLS_FILES
    with _TLS_LOCK:
        if _TLS_FILES is not None:
            return _TLS_FILES
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "netgarden tests"),
                x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1"),
            ]
        )
        now = datetime.now(UTC)
        subject_key = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        usage = x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=False,
            crl_sign=False,
            encipher_only=False,
            decipher_only=False,
        )
        alt_names = x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
        )
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(alt_names, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(subject_key, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(subject_key),
                critical=False,
            )
            .sign(key, hashes.SHA256())
        )
        folder = tempfile.TemporaryDirectory(prefix="fake-microsoft-tls-")
        cert_path = Path(folder.name) / "cert.pem"
        key_path = Path(folder.name) / "key.pem"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        _TLS_DIR = folder
        _TLS_FILES = (str(cert_path), str(key_path))
        return _TLS_FILES


# --------------------------------------------------------------------------- replies


@dataclass
class Reply:
    """One HTTP answer: status, body bytes, extra headers and the JSON value of the body."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    data: Any = None

    @classmethod
    def json(
        cls,
        status: int,
        payload: Any,
        headers: Mapping[str, str] | None = None,
        content_type: str = _GRAPH_JSON,
    ) -> Reply:
        """A JSON answer (Graph's content type unless told otherwise)."""
        merged = {"Content-Type": content_type}
        merged.update(headers or {})
        return cls(status, json.dumps(payload, indent=1).encode("utf-8"), merged, payload)


class GraphError(Exception):
    """Raised by a Graph handler to answer with an error instead of a result."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.reply = graph_error(status, code, message, headers)


def _iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def graph_error(
    status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> Reply:
    """Graph's error body: ``{"error": {"code", "message", "innerError": {...}}}``."""
    request_id = str(uuid.uuid4())
    error = {
        "code": code,
        "message": message,
        "innerError": {
            "date": _iso_now(),
            "request-id": request_id,
            "client-request-id": request_id,
        },
    }
    return Reply.json(status, {"error": error}, headers)


def aad_error(
    status: int,
    error: str,
    code: int,
    description: str,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """The identity platform's OAuth error body (error, error_description "AADSTSnnnn: ...")."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
    payload = {
        "error": error,
        "error_description": f"AADSTS{code}: {description} Trace ID: {trace} Correlation ID: "
        f"{correlation} Timestamp: {stamp}",
        "error_codes": [code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={code}",
    }
    merged = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
    merged.update(headers or {})
    return Reply.json(status, payload, merged, _AAD_JSON)


# --------------------------------------------------------------------------- helpers


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64url_json(value: Any) -> str:
    return _b64url(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def _jwt(claims: Mapping[str, Any]) -> str:
    """A JWT-shaped string (RS256 header, the claims, a random "signature") nobody verifies."""
    header = {"typ": "JWT", "alg": "RS256", "kid": "fake-microsoft-key"}
    return ".".join((_b64url_json(header), _b64url_json(dict(claims)), _b64url(os.urandom(32))))


def _encode_token(values: Mapping[str, Any]) -> str:
    return _b64url_json(dict(values))


def _decode_token(token: str) -> JSON | None:
    try:
        padded = token + "=" * (-len(token) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, UnicodeError):
        return None
    return values if isinstance(values, dict) else None


def _opaque_id(prefix: str, *parts: object) -> str:
    """A deterministic Graph-looking id (base64 with a trailing "=", as Outlook ids have)."""
    digest = hashlib.sha256("|".join(str(part) for part in parts).encode()).digest()
    return prefix + base64.urlsafe_b64encode(digest[:30]).decode("ascii") + "AAA="


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _graph_time(moment: datetime) -> str:
    """Mail timestamps: ``2024-03-01T12:00:00Z``."""
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_time(moment: datetime) -> JSON:
    """An event's dateTimeTimeZone in UTC: ``{"dateTime": "...T12:00:00.0000000", ...}``."""
    return {
        "dateTime": _utc(moment).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0",
        "timeZone": "UTC",
    }


def _parse_time(text: str) -> datetime | None:
    """An ISO 8601 instant as Graph accepts it in URLs (no offset: UTC)."""
    cleaned = text.strip().strip("'\"")
    try:
        moment = datetime.fromisoformat(cleaned.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return _utc(moment)


def _email(spec: Address) -> JSON:
    """``{"name", "address"}`` for an Address; Graph repeats the address when there is no name."""
    if isinstance(spec, tuple):
        name, address = spec
    else:
        name, address = parseaddr(spec)
        if not address:
            address = spec.strip()
    return {"name": name or address, "address": address}


def _recipient(spec: Address) -> JSON:
    return {"emailAddress": _email(spec)}


def _header_address(spec: Address) -> str:
    entry = _email(spec)
    if entry["name"] == entry["address"]:
        return str(entry["address"])
    return f'"{entry["name"]}" <{entry["address"]}>'


def _attendee(spec: Attendee) -> JSON:
    """A Graph attendee object for an Attendee."""
    if isinstance(spec, Mapping):
        return copy.deepcopy(dict(spec))
    parts: Any = spec
    kind, response = "required", "none"
    address: Address
    if isinstance(parts, tuple) and len(parts) == 3:
        address, kind, response = parts
    elif isinstance(parts, tuple) and len(parts) == 2 and parts[1] in _ATTENDEE_TYPES:
        address, kind = parts
    else:
        address = parts  # "Name <a@b>", "a@b" or (name, address)
    if kind not in _ATTENDEE_TYPES:
        raise ValueError(f"attendee type {kind!r} is not one of {sorted(_ATTENDEE_TYPES)}")
    if response not in _RESPONSES:
        raise ValueError(f"attendee response {response!r} is not one of {sorted(_RESPONSES)}")
    return {
        "type": kind,
        "status": {"response": response, "time": "0001-01-01T00:00:00Z"},
        "emailAddress": _email(address),
    }


class _Query:
    """A request's query parameters, names lowercased ($select, $SELECT and %24select alike)."""

    def __init__(self, text: str) -> None:
        self.raw: dict[str, list[str]] = {}
        self.names: dict[str, str] = {}  # lowercased name -> the name as the client spelt it
        for key, values in parse_qs(text, keep_blank_values=True).items():
            self.raw.setdefault(key.lower(), []).extend(values)
            self.names.setdefault(key.lower(), key)

    def get(self, name: str) -> str | None:
        values = self.raw.get(name.lower())
        return values[-1] if values else None

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.raw


def _preferences(headers: Mapping[str, str]) -> dict[str, str]:
    """The Prefer header as {lowercased name: unquoted value}."""
    prefs: dict[str, str] = {}
    for part in headers.get("prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip():
            prefs[name.strip().lower()] = value.strip().strip('"')
    return prefs


def _split_scopes(text: str) -> list[str]:
    return [scope for scope in text.split() if scope]


def _graph_permission(scope: str) -> str | None:
    """The Graph permission a scope names ("Mail.Read" or ".../Mail.Read"); None: not Graph."""
    if scope.lower() in _OIDC_SCOPES:
        return None
    for prefix in (GRAPH_RESOURCE + "/", GRAPH_APP_ID + "/"):
        if scope.lower().startswith(prefix.lower()):
            return scope[len(prefix) :]
    return scope if "/" not in scope and ":" not in scope else None


def _resource_of(scope: str) -> str | None:
    """The resource a scope belongs to (Graph for bare names); None for OIDC scopes."""
    if scope.lower() in _OIDC_SCOPES:
        return None
    if _graph_permission(scope) is not None:
        return GRAPH_RESOURCE
    return scope.rsplit("/", 1)[0]


# --------------------------------------------------------------------------- state records


@dataclass
class _Folder:
    id: str
    name: str
    parent: str
    well_known: str | None = None


@dataclass
class _User:
    upn: str
    oid: str
    name: str
    folders: dict[str, _Folder] = field(default_factory=dict)
    well_known: dict[str, str] = field(default_factory=dict)
    contacts_folder: str = ""

    def profile(self) -> JSON:
        given, _, surname = self.name.partition(" ")
        return {
            "businessPhones": [],
            "displayName": self.name,
            "givenName": given or None,
            "jobTitle": None,
            "mail": self.upn,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": "en-US",
            "surname": surname or None,
            "userPrincipalName": self.upn,
            "id": self.oid,
        }


@dataclass
class _Item:
    """A message, contact or event: its Graph JSON and where and when it last changed."""

    kind: str
    id: str
    mailbox: str
    scope: str
    data: JSON
    seq: int
    order: float
    end: float = 0.0


@dataclass
class _Tombstone:
    kind: str
    mailbox: str
    scope: str
    id: str
    seq: int


@dataclass
class _Device:
    device_code: str
    user_code: str
    client_id: str
    scopes: list[str]
    expires_at: float
    state: str = "pending"
    user: str | None = None
    pending_polls: int = 0
    error: str = "authorization_declined"


@dataclass
class _Grant:
    """What an access token allows."""

    token: str
    client_id: str
    user: str | None
    permissions: frozenset[str]
    audience: str
    expires_at: float
    revoked: bool = False

    @property
    def client(self) -> tuple[str, str]:
        """Whose throttling state this token shares: (client_id, user oid or "app")."""
        return (self.client_id, self.user or "app")


@dataclass
class _RefreshToken:
    client_id: str
    user: str
    scopes: list[str]
    revoked: bool = False


@dataclass
class _Fault:
    status: int
    retry_after: str | None
    kind: str | None
    code: str | None = None


@dataclass
class _TokenFault:
    status: int
    retry_after: str | None
    grant_type: str | None


@dataclass
class _Auth:
    """The outcome of reading a request's Authorization header."""

    grant: _Grant | None
    error: Reply | None


@dataclass
class _Call:
    """One routed Graph call, handed to a handler."""

    kind: str
    user: _User
    prefix: str
    groups: dict[str, str]
    query: _Query
    prefs: dict[str, str]
    grant: _Grant


# --------------------------------------------------------------------------- HTTP plumbing


# --------------------------------------------------------------------------- routes

_PRINCIPAL = r"(?:me|users/(?P<user>[^/()]+)|users\('(?P<quser>[^']+)'\))"
_MAIL_FOLDER = r"mailFolders(?:/(?P<folder>[^/()]+)|\('(?P<qfolder>[^']+)'\))"
_CONTACT_FOLDER = r"contactFolders(?:/(?P<cfolder>[^/()]+)|\('(?P<qcfolder>[^']+)'\))"
_DELTA = r"(?:delta|microsoft\.graph\.delta(?:\(\))?)"
_ROUTES: list[tuple[str, re.Pattern[str]]] = [
    ("user.get", re.compile(rf"/{_PRINCIPAL}", re.IGNORECASE)),
    ("mailFolders.list", re.compile(rf"/{_PRINCIPAL}/mailFolders", re.IGNORECASE)),
    ("mailFolders.get", re.compile(rf"/{_PRINCIPAL}/{_MAIL_FOLDER}", re.IGNORECASE)),
    ("messages.delta", re.compile(rf"/{_PRINCIPAL}/{_MAIL_FOLDER}/messages/{_DELTA}", re.I)),
    ("contacts.delta", re.compile(rf"/{_PRINCIPAL}/contacts/{_DELTA}", re.IGNORECASE)),
    ("contacts.delta", re.compile(rf"/{_PRINCIPAL}/{_CONTACT_FOLDER}/contacts/{_DELTA}", re.I)),
    (
        "calendarView.delta",
        re.compile(rf"/{_PRINCIPAL}/(?:calendar/)?calendarView/{_DELTA}", re.IGNORECASE),
    ),
]


# --------------------------------------------------------------------------- the fake


class FakeMicrosoft(LoopbackServer):
    """An in-process Microsoft identity platform and Microsoft Graph (mail, contacts, calendar).

    State setters (``add_message``, ``add_contact``, ``add_event``, ...) and the ledger may be
    used from the test thread while the server runs; everything is under one lock.

    Ledger attributes: ``requests`` (Graph HTTP requests; a batch counts once), ``calls``
    (Counter by kind: user.get, mailFolders.list, mailFolders.get, messages.delta,
    contacts.delta, calendarView.delta, batch; throttled calls included), ``pages`` (Counter of
    delta pages served, by folder: a mail folder's well-known name or id, "contacts",
    "calendarView"), ``page_log`` ((mailbox upn, kind, folder label, items) per page),
    ``throttled`` (Counter of 429s by error code), ``throttle_log`` ((client, kind, Retry-After
    end by ``clock``) per 429), ``early_retries`` and ``early`` ((client, target, seconds too
    early) per request sent before a Retry-After ended), ``max_concurrent_seen`` (Graph requests
    in flight at once, refused ones included), ``concurrency_refusals``, ``batch_sizes``;
    identity side: ``device_codes_issued``, ``device_polls``, ``refresh_count`` (refresh grants
    answered with tokens), ``client_credentials_count`` (app tokens issued),
    ``token_requests`` (Counter of token-endpoint requests by grant_type, failures included),
    ``token_faults``; ``tls_failures`` (handshakes that failed, e.g. an untrusting client) and
    ``crashes`` (tracebacks of fake bugs, answered 500).
    """

    server_version = "FakeMicrosoft/1.0"
    scheme = "https"

    def __init__(
        self,
        user: str = "me@example.com",
        *,
        name: str = "Test User",
        tenant_domain: str = "contoso.example",
        client_id: str | None = None,
        client_secret: str | None = None,
        consented: Sequence[str] = DEFAULT_CONSENTED,
        app_roles: Sequence[str] = DEFAULT_APP_ROLES,
        check_scopes: bool = True,
        max_page_size: int = 1000,
        default_page_size: int = 10,
        max_concurrent: int = 4,
        concurrency_retry_after: str = "1",
        batch_limit: int = 20,
        strict_retry_after: bool = False,
        delay: float = 0.0,
        token_lifetime: int = 3600,
        device_interval: int = 1,
        device_expires_in: int = 900,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure a tenant with one mailbox.

        Args:
            user: the signed-in user's UPN and mail address (more: `add_user`).
            name: that user's display name.
            tenant_domain: the tenant's domain (usable as the authority's tenant segment).
            client_id: the only client id accepted (None: any).
            client_secret: the only secret accepted for client credentials (None: any
                non-empty secret; a client assertion is always accepted).
            consented: delegated permissions added to every user token.
            app_roles: application permissions of app-only tokens.
            check_scopes: refuse Graph calls the token holds no permission for (403).
            max_page_size: most items per delta page, whatever odata.maxpagesize asks.
            default_page_size: items per delta page without odata.maxpagesize.
            max_concurrent: Graph HTTP requests allowed in flight at once; more get 429.
            concurrency_retry_after: the Retry-After of those 429s.
            batch_limit: most requests a $batch may hold; more gets the whole batch a 400.
            strict_retry_after: answer requests sent before a Retry-After ended 429 again.
            delay: seconds every Graph HTTP request takes (to make concurrency observable).
            token_lifetime: expires_in of access tokens.
            device_interval: the polling interval device codes advertise.
            device_expires_in: the lifetime of device codes.
            clock: the time source of Retry-After bookkeeping.
        """
        self.tenant_domain = tenant_domain
        self.tenant_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, tenant_domain))
        self.client_id = client_id
        self.client_secret = client_secret
        self.consented = tuple(consented)
        self.app_roles = tuple(app_roles)
        self.check_scopes = check_scopes
        self.max_page_size = max_page_size
        self.default_page_size = default_page_size
        self.max_concurrent = max_concurrent
        self.concurrency_retry_after = concurrency_retry_after
        self.batch_limit = batch_limit
        self.strict_retry_after = strict_retry_after
        self.delay = delay
        self.token_lifetime = token_lifetime
        self.device_interval = device_interval
        self.device_expires_in = device_expires_in
        self.clock = clock

        super().__init__()
        self._in_flight = 0

        # identity
        self._users: dict[str, _User] = {}
        self._devices: dict[str, _Device] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._token_faults: deque[_TokenFault] = deque()
        # Graph
        self._seq = 0
        self._items: dict[str, _Item] = {}
        self._tombstones: list[_Tombstone] = []
        self._delta_floor: dict[tuple[str, str, str], tuple[int, int, str]] = {}
        self._faults: deque[_Fault] = deque()
        self._throttle_p = 0.0
        self._throttle_rng = random.Random(0)
        self._throttle_retry_after: str | None = "1"
        self._throttle_kind: str | None = None
        self._retry_deadline: dict[tuple[str, str], float] = {}

        self.reset_ledger()
        self.add_user(user, name)

    # ------------------------------------------------------------------ lifecycle

    def _tls_context(self) -> ssl.SSLContext:
        cert, key = tls_files()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        return context

    @property
    def authority(self) -> str:
        """``https://127.0.0.1:PORT/<tenant_id>``: msal's authority for this tenant."""
        return self.authority_for(self.tenant_id)

    def authority_for(self, tenant: str) -> str:
        """The authority URL for a tenant segment (tenant_id, tenant_domain, common, ...)."""
        return self.root + tenant

    @property
    def graph_endpoint(self) -> str:
        """``https://127.0.0.1:PORT/v1.0`` (no trailing slash)."""
        return self.root + "v1.0"

    @property
    def ca_file(self) -> str:
        """The PEM file clients pass as ``verify=`` (the self-signed certificate itself)."""
        return tls_files()[0]

    def session(self) -> requests.Session:
        """A ``requests.Session`` that trusts ``ca_file`` whatever the environment says.

        ``trust_env`` is off because REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE would otherwise
        replace ``session.verify`` (and proxy variables could route 127.0.0.1 elsewhere).
        """
        import requests

        session = requests.Session()
        session.verify = self.ca_file
        session.trust_env = False
        return session

    # ------------------------------------------------------------------ ledger

    def reset_ledger(self) -> None:
        """Zero every counter (not the state, tokens, faults or Retry-After deadlines)."""
        with self._lock:
            self.requests = 0
            self.calls: Counter[str] = Counter()
            self.pages: Counter[str] = Counter()
            self.page_log: list[tuple[str, str, str, int]] = []
            self.throttled: Counter[str] = Counter()
            self.throttle_log: list[tuple[tuple[str, str], str, float]] = []
            self.early_retries = 0
            self.early: list[tuple[tuple[str, str], str, float]] = []
            self.max_concurrent_seen = 0
            self.concurrency_refusals = 0
            self.batch_sizes: list[int] = []
            self.device_codes_issued = 0
            self.device_polls = 0
            self.refresh_count = 0
            self.client_credentials_count = 0
            self.token_requests: Counter[str] = Counter()
            self.token_faults = 0
            self.tls_failures = 0
            self.crashes: list[str] = []

    # ------------------------------------------------------------------ users

    def add_user(self, upn: str, name: str | None = None) -> str:
        """Add a mailbox (readable app-only at ``/users/{upn-or-id}``); returns its object id."""
        with self._lock:
            key = upn.lower()
            if key in self._users:
                raise ValueError(f"user {upn} exists")
            oid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-microsoft:{self.tenant_id}:{key}"))
            user = _User(upn=upn, oid=oid, name=name or upn.partition("@")[0].title())
            root = _Folder(_opaque_id("AAMkAGI", oid, "msgfolderroot"), "Top of Information Store",
                           "", "msgfolderroot")  # fmt: skip
            user.folders[root.id] = root
            user.well_known["msgfolderroot"] = root.id
            for well_known, display in _WELL_KNOWN_FOLDERS.items():
                folder = _Folder(_opaque_id("AAMkAGI", oid, well_known), display, root.id,
                                 well_known)  # fmt: skip
                user.folders[folder.id] = folder
                user.well_known[well_known] = folder.id
            user.contacts_folder = _opaque_id("AAMkAGC", oid, "contacts")
            self._users[key] = user
            return oid

    def user_id(self, upn: str | None = None) -> str:
        """The object id (oid) of a user (None: the signed-in user)."""
        with self._lock:
            return self._user(upn).oid

    @property
    def user(self) -> str:
        """The signed-in user's UPN."""
        with self._lock:
            return self._user(None).upn

    def _user(self, ref: str | None) -> _User:
        if ref is None:
            return self._users[self._primary_key()]
        found = self._find_user(ref)
        if found is None:
            raise KeyError(f"no user {ref}")
        return found

    def _primary_key(self) -> str:
        return next(iter(self._users))

    def _find_user(self, ref: str) -> _User | None:
        user = self._users.get(ref.lower())
        if user is not None:
            return user
        return next((u for u in self._users.values() if u.oid == ref.lower()), None)

    # ------------------------------------------------------------------ identity test API

    def approve_device(
        self, user_code: str | None = None, *, user: str | None = None, after_polls: int = 0
    ) -> None:
        """Let a device code sign in ``user`` (None: the signed-in user).

        ``user_code`` None picks the latest device code; ``after_polls`` keeps answering
        authorization_pending to that many more polls first.
        """
        with self._lock:
            device = self._device(user_code)
            device.state = "approved"
            device.user = self._user(user).oid
            device.pending_polls = after_polls

    def deny_device(
        self, user_code: str | None = None, *, error: str = "authorization_declined"
    ) -> None:
        """Make a device code's polls fail with ``error``.

        Entra answers "authorization_declined"; RFC 8628 names it "access_denied".
        """
        with self._lock:
            device = self._device(user_code)
            device.state = "denied"
            device.error = error

    def expire_device(self, user_code: str | None = None) -> None:
        """Make a device code's polls fail with expired_token."""
        with self._lock:
            self._device(user_code).state = "expired"

    def _device(self, user_code: str | None) -> _Device:
        if not self._devices:
            raise KeyError("no device code was issued")
        if user_code is None:
            return list(self._devices.values())[-1]
        for device in self._devices.values():
            if device.user_code == user_code.upper():
                return device
        raise KeyError(f"no device code with user code {user_code}")

    def fail_token_next(
        self,
        status: int = 429,
        retry_after: str | None = "5",
        *,
        count: int = 1,
        grant_type: str | None = None,
    ) -> None:
        """Answer the next ``count`` token requests (of ``grant_type``, or any) with ``status``.

        msal caches such an answer (429, 5xx or any with Retry-After) and replays it without a
        request until Retry-After passes; it raises MsalServiceError for 5xx.
        """
        with self._lock:
            for _ in range(count):
                self._token_faults.append(_TokenFault(status, retry_after, grant_type))

    def revoke_refresh_tokens(self) -> None:
        """Revoke every refresh token issued so far (400 invalid_grant, AADSTS50173)."""
        with self._lock:
            for token in self._refresh.values():
                token.revoked = True

    def expire_access_tokens(self) -> None:
        """Make every access token issued so far expired (Graph: 401, lifetime validation)."""
        with self._lock:
            past = time.time() - 1
            for grant in self._access.values():
                grant.expires_at = min(grant.expires_at, past)

    def revoke_access_tokens(self) -> None:
        """Make every access token issued so far unknown to Graph (401)."""
        with self._lock:
            for grant in self._access.values():
                grant.revoked = True

    @property
    def access_tokens_issued(self) -> int:
        """How many access tokens the token endpoint issued."""
        with self._lock:
            return len(self._access)

    # ------------------------------------------------------------------ Graph faults

    def fail_next(
        self,
        count: int = 1,
        status: int = 429,
        retry_after: str | None = "1",
        *,
        kind: str | None = None,
        code: str | None = None,
    ) -> None:
        """Answer the next ``count`` Graph calls (batch items included) with ``status``.

        ``kind`` (e.g. "messages.delta") limits the faults to those calls; ``code`` replaces
        the error code (429: TooManyRequests); ``retry_after`` None sends no Retry-After.
        """
        with self._lock:
            for _ in range(count):
                self._faults.append(_Fault(status, retry_after, kind, code))

    def throttle_rate(
        self, p: float, seed: int = 0, retry_after: str | None = "1", *, kind: str | None = None
    ) -> None:
        """Answer a deterministic fraction ``p`` of Graph calls (batch items included) 429.

        Draws come from ``random.Random(seed)`` in the order calls arrive; ``p`` 0 turns it off.
        ``retry_after`` may be fractional ("0.2") to keep tests fast; Graph sends whole seconds.
        """
        with self._lock:
            self._throttle_p = p
            self._throttle_rng = random.Random(seed)
            self._throttle_retry_after = retry_after
            self._throttle_kind = kind

    def clear_retry_after(self) -> None:
        """Forget every pending Retry-After (requests are no longer early)."""
        with self._lock:
            self._retry_deadline.clear()

    def expire_delta(
        self,
        folder: str | None = None,
        *,
        kind: str = "messages",
        mailbox: str | None = None,
        status: int = 410,
        code: str = "SyncStateNotFound",
    ) -> None:
        """Expire every skip and delta token of a collection handed out so far.

        ``kind`` is "messages" (``folder``: well-known name, display name or id; None: every
        mail folder), "contacts" or "calendarView". Graph answers 410 Gone with code
        SyncStateNotFound for expired Outlook sync state; directory resources use 400
        "syncStateNotFound" and the delta overview also names "resyncRequired": ``status``
        and ``code`` select those variants.
        """
        if kind not in _SINGULAR:
            raise ValueError(f"kind {kind!r} is not one of {sorted(_SINGULAR)}")
        with self._lock:
            owner = self._user(mailbox)
            if kind == "messages":
                scopes = (
                    [self._folder(owner, folder).id]
                    if folder is not None
                    else [f.id for f in owner.folders.values()]
                )
            elif kind == "contacts":
                scopes = [owner.contacts_folder]
            else:
                scopes = ["calendar"]
            floor = self._seq
            for scope in scopes:
                self._delta_floor[(owner.oid, kind, scope)] = (floor, status, code)
            self._seq += 1

    # ------------------------------------------------------------------ mail state

    def add_folder(
        self, display_name: str, *, parent: str = "msgfolderroot", mailbox: str | None = None
    ) -> str:
        """Add a mail folder (under the root by default); returns its id."""
        with self._lock:
            owner = self._user(mailbox)
            parent_folder = self._folder(owner, parent)
            folder_id = _opaque_id("AAMkAGI", owner.oid, "folder", len(owner.folders))
            owner.folders[folder_id] = _Folder(folder_id, display_name, parent_folder.id)
            return folder_id

    def folder_id(self, folder: str, mailbox: str | None = None) -> str:
        """The id of a folder given its well-known name, display name or id."""
        with self._lock:
            return self._folder(self._user(mailbox), folder).id

    def _folder(self, owner: _User, ref: str) -> _Folder:
        folder_id = owner.well_known.get(ref.lower())
        if folder_id is not None:
            return owner.folders[folder_id]
        if ref in owner.folders:
            return owner.folders[ref]
        named = [f for f in owner.folders.values() if f.name.lower() == ref.lower()]
        if len(named) == 1:
            return named[0]
        raise KeyError(f"no folder {ref!r} in {owner.upn}")

    def add_message(
        self,
        folder: str,
        *,
        from_: Address,
        to: Sequence[Address],
        cc: Sequence[Address] = (),
        bcc: Sequence[Address] = (),
        sent: datetime,
        received: datetime,
        internet_message_id: str,
        headers: Sequence[tuple[str, str]] | Mapping[str, str] | None = None,
        subject: str = "",
        is_read: bool = True,
        replace_headers: bool = False,
        mailbox: str | None = None,
    ) -> str:
        """Deliver a message to a folder (naive datetimes are UTC); returns its id.

        internetMessageHeaders (returned only when selected) are From, To, Cc, Subject, Date,
        Message-ID and MIME headers built from the other arguments, plus ``headers``: a given
        header replaces the generated ones of the same name (case-insensitive). With
        ``replace_headers`` the message has exactly ``headers``.
        """
        given = [
            (str(k), str(v))
            for k, v in (headers.items() if isinstance(headers, Mapping) else headers or ())
        ]
        generated = [("From", _header_address(from_))]
        if to:
            generated.append(("To", ", ".join(_header_address(a) for a in to)))
        if cc:
            generated.append(("Cc", ", ".join(_header_address(a) for a in cc)))
        generated += [
            ("Subject", subject),
            ("Date", format_datetime(_utc(sent))),
            ("Message-ID", internet_message_id),
            ("MIME-Version", "1.0"),
            ("Content-Type", "text/plain; charset=utf-8"),
        ]
        overridden = {name.lower() for name, _ in given}
        header_list = (
            given
            if replace_headers
            else [(n, v) for n, v in generated if n.lower() not in overridden] + given
        )
        with self._lock:
            owner = self._user(mailbox)
            target = self._folder(owner, folder)
            self._seq += 1
            message_id = _opaque_id("AAMkAGE", owner.oid, "message", self._seq)
            sender = _recipient(from_)
            now = _iso_now()
            data: JSON = {
                "id": message_id,
                "createdDateTime": _graph_time(received),
                "lastModifiedDateTime": now,
                "changeKey": "",
                "categories": [],
                "receivedDateTime": _graph_time(received),
                "sentDateTime": _graph_time(sent),
                "hasAttachments": False,
                "internetMessageId": internet_message_id,
                "subject": subject,
                "bodyPreview": "",
                "importance": "normal",
                "parentFolderId": target.id,
                "conversationId": _opaque_id("AAQkAGQ", owner.oid, subject or message_id),
                "isDeliveryReceiptRequested": False,
                "isReadReceiptRequested": False,
                "isRead": is_read,
                "isDraft": False,
                "webLink": f"https://outlook.office365.com/owa/?ItemID={quote(message_id)}",
                "inferenceClassification": "focused",
                "body": {"contentType": "text", "content": ""},
                "sender": copy.deepcopy(sender),
                "from": sender,
                "toRecipients": [_recipient(a) for a in to],
                "ccRecipients": [_recipient(a) for a in cc],
                "bccRecipients": [_recipient(a) for a in bcc],
                "replyTo": [],
                "flag": {"flagStatus": "notFlagged"},
                "internetMessageHeaders": [{"name": n, "value": v} for n, v in header_list],
            }
            item = _Item("messages", message_id, owner.oid, target.id, data, self._seq,
                         _utc(received).timestamp())  # fmt: skip
            self._stamp(item, now)
            self._items[message_id] = item
            return message_id

    def update_message(self, message_id: str, **properties: Any) -> None:
        """Change a message's Graph properties (e.g. ``isRead=False``): deltas report it again."""
        self._update("messages", message_id, properties)

    def move_message(self, message_id: str, folder: str) -> None:
        """Move a message: removed from its folder's delta, added to the other's (same id)."""
        with self._lock:
            item = self._get_item("messages", message_id)
            owner = self._user(item.mailbox)
            target = self._folder(owner, folder)
            self._seq += 1
            self._tombstones.append(
                _Tombstone("messages", item.mailbox, item.scope, item.id, self._seq)
            )
            item.scope = target.id
            item.data["parentFolderId"] = target.id
            item.seq = self._seq
            self._stamp(item, _iso_now())

    def delete_message(self, message_id: str) -> None:
        """Delete a message for good: deltas report it ``@removed``."""
        self._remove("messages", message_id)

    def message_ids(self, folder: str | None = None, mailbox: str | None = None) -> list[str]:
        """Ids of the messages present (in a folder, or anywhere), newest first."""
        with self._lock:
            owner = self._user(mailbox)
            scope = self._folder(owner, folder).id if folder is not None else None
            found = [
                item
                for item in self._items.values()
                if item.kind == "messages"
                and item.mailbox == owner.oid
                and (scope is None or item.scope == scope)
            ]
            found.sort(key=lambda item: (-item.order, item.id))
            return [item.id for item in found]

    # ------------------------------------------------------------------ contacts state

    def add_contact(
        self,
        display_name: str = "",
        *,
        emails: Sequence[Address] = (),
        given_name: str | None = None,
        surname: str | None = None,
        business_phones: Sequence[str] = (),
        mobile_phone: str | None = None,
        company_name: str | None = None,
        job_title: str | None = None,
        mailbox: str | None = None,
    ) -> str:
        """Add a contact to the default contacts folder; returns its id.

        Given name and surname default to the display name split at its last space.
        """
        if given_name is None and surname is None and display_name:
            first, _, last = display_name.rpartition(" ")
            given_name, surname = (first, last) if first else (last, None)
        with self._lock:
            owner = self._user(mailbox)
            self._seq += 1
            contact_id = _opaque_id("AAMkAGC", owner.oid, "contact", self._seq)
            now = _iso_now()
            data: JSON = {
                "id": contact_id,
                "createdDateTime": now,
                "lastModifiedDateTime": now,
                "changeKey": "",
                "categories": [],
                "parentFolderId": owner.contacts_folder,
                "birthday": None,
                "fileAs": "",
                "displayName": display_name,
                "givenName": given_name,
                "middleName": None,
                "nickName": None,
                "surname": surname,
                "title": None,
                "jobTitle": job_title,
                "companyName": company_name,
                "department": None,
                "officeLocation": None,
                "businessHomePage": None,
                "personalNotes": "",
                "imAddresses": [],
                "emailAddresses": [_email(a) for a in emails],
                "businessPhones": list(business_phones),
                "homePhones": [],
                "mobilePhone": mobile_phone,
            }
            item = _Item("contacts", contact_id, owner.oid, owner.contacts_folder, data,
                         self._seq, float(self._seq))  # fmt: skip
            self._stamp(item, now)
            self._items[contact_id] = item
            return contact_id

    def update_contact(self, contact_id: str, **properties: Any) -> None:
        """Change a contact's Graph properties (e.g. ``jobTitle="CTO"``)."""
        self._update("contacts", contact_id, properties)

    def delete_contact(self, contact_id: str) -> None:
        """Delete a contact: deltas report it ``@removed``."""
        self._remove("contacts", contact_id)

    # ------------------------------------------------------------------ calendar state

    def add_event(
        self,
        subject: str,
        *,
        start: datetime,
        end: datetime,
        organizer: Address,
        attendees: Sequence[Attendee] = (),
        ical_uid: str | None = None,
        is_cancelled: bool = False,
        is_all_day: bool = False,
        mailbox: str | None = None,
    ) -> str:
        """Add a single-instance event to the default calendar (naive = UTC); returns its id.

        An attendee is an Address (required, response "none"), (Address, type) or
        (Address, type, response) with type required|optional|resource and response none|
        organizer|tentativelyAccepted|accepted|declined|notResponded (Graph's names), or a
        Graph attendee object.
        """
        rendered = [_attendee(a) for a in attendees]
        with self._lock:
            owner = self._user(mailbox)
            self._seq += 1
            event_id = _opaque_id("AAMkAGF", owner.oid, "event", self._seq)
            organizer_email = _email(organizer)
            is_organizer = str(organizer_email["address"]).lower() == owner.upn.lower()
            now = _iso_now()
            data: JSON = {
                "id": event_id,
                "createdDateTime": now,
                "lastModifiedDateTime": now,
                "changeKey": "",
                "categories": [],
                "originalStartTimeZone": "UTC",
                "originalEndTimeZone": "UTC",
                "iCalUId": ical_uid or "040000008200E00074C5B7101A82E008" + uuid.uuid4().hex,
                "reminderMinutesBeforeStart": 15,
                "isReminderOn": True,
                "hasAttachments": False,
                "subject": subject,
                "bodyPreview": "",
                "importance": "normal",
                "sensitivity": "normal",
                "isAllDay": is_all_day,
                "isCancelled": is_cancelled,
                "isOrganizer": is_organizer,
                "responseRequested": True,
                "seriesMasterId": None,
                "showAs": "busy",
                "type": "singleInstance",
                "webLink": f"https://outlook.office365.com/owa/?itemid={quote(event_id)}",
                "onlineMeetingUrl": None,
                "isOnlineMeeting": False,
                "responseStatus": {
                    "response": "organizer" if is_organizer else "none",
                    "time": "0001-01-01T00:00:00Z",
                },
                "start": _event_time(start),
                "end": _event_time(end),
                "location": {"displayName": "", "locationType": "default"},
                "locations": [],
                "attendees": rendered,
                "organizer": {"emailAddress": organizer_email},
            }
            item = _Item("calendarView", event_id, owner.oid, "calendar", data, self._seq,
                         _utc(start).timestamp(), _utc(end).timestamp())  # fmt: skip
            self._stamp(item, now)
            self._items[event_id] = item
            return event_id

    def update_event(self, event_id: str, **properties: Any) -> None:
        """Change an event's Graph properties (``start``/``end`` may be datetimes)."""
        for key in ("start", "end"):
            if isinstance(properties.get(key), datetime):
                properties[key] = _event_time(properties[key])
        self._update("calendarView", event_id, properties)

    def cancel_event(self, event_id: str) -> None:
        """Cancel a meeting: isCancelled true and "Canceled: " before the subject (an update)."""
        with self._lock:
            subject = str(self._get_item("calendarView", event_id).data.get("subject", ""))
        self._update(
            "calendarView", event_id, {"isCancelled": True, "subject": "Canceled: " + subject}
        )

    def delete_event(self, event_id: str) -> None:
        """Delete an event: deltas report it ``@removed``."""
        self._remove("calendarView", event_id)

    # ------------------------------------------------------------------ item plumbing

    def _get_item(self, kind: str, item_id: str) -> _Item:
        item = self._items.get(item_id)
        if item is None or item.kind != kind:
            raise KeyError(f"no {_SINGULAR[kind]} {item_id}")
        return item

    def _stamp(self, item: _Item, now: str) -> None:
        change_key = base64.b64encode(f"CQAAABYAAAA{item.id[-12:-4]}{item.seq:08d}".encode())
        item.data["changeKey"] = change_key.decode("ascii")
        item.data["lastModifiedDateTime"] = now

    def _update(self, kind: str, item_id: str, properties: Mapping[str, Any]) -> None:
        with self._lock:
            item = self._get_item(kind, item_id)
            for key, value in properties.items():
                if key == "id":
                    raise ValueError("the id cannot change")
                item.data[key] = copy.deepcopy(value)
            if kind == "messages" and "receivedDateTime" in properties:
                moment = _parse_time(str(properties["receivedDateTime"]))
                item.order = moment.timestamp() if moment else item.order
            if kind == "calendarView":
                start = _parse_time(str(item.data["start"]["dateTime"]))
                end = _parse_time(str(item.data["end"]["dateTime"]))
                item.order = start.timestamp() if start else item.order
                item.end = end.timestamp() if end else item.end
            self._seq += 1
            item.seq = self._seq
            self._stamp(item, _iso_now())

    def _remove(self, kind: str, item_id: str) -> None:
        with self._lock:
            item = self._get_item(kind, item_id)
            del self._items[item_id]
            self._seq += 1
            self._tombstones.append(_Tombstone(kind, item.mailbox, item.scope, item.id, self._seq))

    # ------------------------------------------------------------------ HTTP entry

    def _tls_failed(self) -> None:
        with self._lock:
            self.tls_failures += 1

    def _http(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """Answer one HTTP request (called from the server's handler threads)."""
        try:
            path = urlsplit(target).path
            if path == "/v1.0" or path.startswith("/v1.0/"):
                return self._graph_http(verb, target, headers, body)
            return self._identity(verb, target, headers, body)
        except Exception:
            trace = traceback.format_exc()
            with self._lock:
                self.crashes.append(trace)
            return graph_error(500, "InternalServerError", f"FakeMicrosoft crashed: {trace}")

    # ------------------------------------------------------------------ identity platform

    def _realm(self, tenant: str) -> str | None:
        """The tenant segment endpoints use (common/... as is, else the GUID); None: unknown."""
        if tenant.lower() in _SPECIAL_TENANTS:
            return tenant.lower()
        if tenant.lower() in (self.tenant_id, self.tenant_domain.lower()):
            return self.tenant_id
        return None

    def _identity(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        split = urlsplit(target)
        path = re.sub("/+", "/", split.path)
        parts = [unquote(part) for part in path.strip("/").split("/")]
        if parts == ["devicelogin"]:
            page = b"<html><body><h1>Enter code</h1><p>FakeMicrosoft: tests approve device "
            page += b"codes with approve_device().</p></body></html>"
            return Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})
        if len(parts) < 2:
            return aad_error(404, "invalid_request", 90000, f"Unknown path {path}.")
        tenant, rest = parts[0], [part.lower() for part in parts[1:]]
        realm = self._realm(tenant)
        if realm is None:
            return aad_error(
                400,
                "invalid_tenant",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID "
                "and are signing into the correct cloud.",
            )
        if rest == ["v2.0", ".well-known", "openid-configuration"] and verb == "GET":
            return Reply.json(200, self._openid_configuration(realm), {}, _AAD_JSON)
        if rest == ["discovery", "v2.0", "keys"] and verb == "GET":
            return Reply.json(200, {"keys": []}, {}, _AAD_JSON)
        if rest == ["oauth2", "v2.0", "devicecode"] and verb == "POST":
            return self._devicecode(_form(body))
        if rest == ["oauth2", "v2.0", "token"] and verb == "POST":
            return self._token(realm, _form(body), headers)
        return aad_error(404, "invalid_request", 90000, f"Unknown endpoint {verb} {path}.")

    def _openid_configuration(self, realm: str) -> JSON:
        base = self.root + realm
        issuer_tenant = "{tenantid}" if realm in _SPECIAL_TENANTS else realm
        return {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{self.root}{issuer_tenant}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{self.root}oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": list(_CLAIMS),
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": f"127.0.0.1:{self.port}",
            "rbac_url": "https://pas.windows.net",
        }

    def _check_client(self, form: Mapping[str, str]) -> Reply | None:
        client_id = form.get("client_id", "")
        if not client_id:
            return aad_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        if self.client_id is not None and client_id != self.client_id:
            return aad_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{self.tenant_domain}'.",
            )
        return None

    def _devicecode(self, form: Mapping[str, str]) -> Reply:
        refused = self._check_client(form)
        if refused is not None:
            return refused
        scopes = _split_scopes(form.get("scope", ""))
        if not scopes:
            return aad_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'scope'.",
            )
        with self._lock:
            self.device_codes_issued += 1
            while True:
                user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
                if all(d.user_code != user_code for d in self._devices.values()):
                    break
            device_code = "DAQABAAEAAAD" + _b64url(os.urandom(48))
            self._devices[device_code] = _Device(
                device_code=device_code,
                user_code=user_code,
                client_id=form["client_id"],
                scopes=scopes,
                expires_at=time.time() + self.device_expires_in,
            )
        verification_uri = self.root + "devicelogin"
        return Reply.json(
            200,
            {
                "user_code": user_code,
                "device_code": device_code,
                "verification_uri": verification_uri,
                "expires_in": self.device_expires_in,
                "interval": self.device_interval,
                "message": f"To sign in, use a web browser to open the page {verification_uri} "
                f"and enter the code {user_code} to authenticate.",
            },
            {},
            _AAD_JSON,
        )

    def _client_secret(self, form: Mapping[str, str], headers: Mapping[str, str]) -> str | None:
        if form.get("client_secret"):
            return form["client_secret"]
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip()).decode("utf-8")
            except (ValueError, UnicodeError):
                return None
            return unquote(decoded.partition(":")[2].replace("+", " ")) or None
        return None

    def _token(self, realm: str, form: Mapping[str, str], headers: Mapping[str, str]) -> Reply:
        grant_type = form.get("grant_type", "")
        with self._lock:
            self.token_requests[grant_type] += 1
            fault = next(
                (f for f in self._token_faults if f.grant_type in (None, grant_type)), None
            )
            if fault is not None:
                self._token_faults.remove(fault)
                self.token_faults += 1
        if fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            if fault.status == 429:
                return aad_error(
                    429,
                    "temporarily_unavailable",
                    90055,
                    "TenantThrottlingThreshold: There are too many incoming requests. This "
                    "request has been throttled.",
                    extra,
                )
            return aad_error(
                fault.status, "server_error", 90033, "A transient error has occurred.", extra
            )
        refused = self._check_client(form)
        if refused is not None:
            return refused
        secret = self._client_secret(form, headers)
        assertion = form.get("client_assertion")
        if secret is not None and self.client_secret is not None and secret != self.client_secret:
            return aad_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{form['client_id']}'.",
            )
        if grant_type == DEVICE_CODE_GRANT:
            return self._device_grant(form)
        if grant_type == "refresh_token":
            return self._refresh_grant(form)
        if grant_type == "client_credentials":
            if secret is None and not assertion:
                return aad_error(
                    401,
                    "invalid_client",
                    7000218,
                    "The request body must contain the following parameter: 'client_assertion' "
                    "or 'client_secret'.",
                )
            return self._client_credentials_grant(realm, form)
        return aad_error(
            400,
            "unsupported_grant_type",
            70003,
            f"The app requested an unsupported grant type '{grant_type}'.",
        )

    def _device_grant(self, form: Mapping[str, str]) -> Reply:
        code = form.get("device_code") or form.get("code") or ""
        with self._lock:
            self.device_polls += 1
            device = self._devices.get(code)
            if device is None or device.client_id != form.get("client_id"):
                return aad_error(
                    400,
                    "bad_verification_code",
                    70019,
                    "Verification code expired or the device code is not recognized.",
                )
            if device.state in ("pending", "approved") and time.time() > device.expires_at:
                device.state = "expired"
            if device.state == "expired":
                return aad_error(
                    400,
                    "expired_token",
                    70020,
                    "The provided value for the input parameter 'device_code' is not valid. "
                    "This device code has expired.",
                )
            if device.state == "denied":
                return aad_error(
                    400, device.error, 70000, "The user declined the authorization request."
                )
            if device.state == "redeemed":
                return aad_error(
                    400,
                    "invalid_grant",
                    54005,
                    "OAuth2 Authorization code was already redeemed, please retry with a new "
                    "valid code or use an existing refresh token.",
                )
            if device.state == "pending" or device.pending_polls > 0:
                device.pending_polls = max(0, device.pending_polls - 1)
                return aad_error(
                    400,
                    "authorization_pending",
                    70016,
                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
                )
            device.state = "redeemed"
            assert device.user is not None
            return self._user_tokens(device.client_id, device.user, device.scopes, form)

    def _refresh_grant(self, form: Mapping[str, str]) -> Reply:
        with self._lock:
            token = self._refresh.get(form.get("refresh_token", ""))
            if token is None:
                return aad_error(
                    400,
                    "invalid_grant",
                    9002313,
                    "Invalid request. Request is malformed or invalid.",
                )
            if token.revoked:
                return aad_error(
                    400,
                    "invalid_grant",
                    50173,
                    "The provided grant has expired due to it being revoked, a fresh auth token "
                    "is needed. The user might have changed or reset their password.",
                )
            if token.client_id != form.get("client_id"):
                return aad_error(
                    400,
                    "invalid_grant",
                    70000,
                    "Provided grant is invalid or malformed: the refresh token was issued to a "
                    "different client.",
                )
            scopes = _split_scopes(form.get("scope", "")) or token.scopes
            reply = self._user_tokens(token.client_id, token.user, scopes, form)
            if reply.status == 200:
                self.refresh_count += 1
            return reply

    def _client_credentials_grant(self, realm: str, form: Mapping[str, str]) -> Reply:
        scopes = _split_scopes(form.get("scope", ""))
        if len(scopes) != 1 or not scopes[0].endswith("/.default"):
            return aad_error(
                400,
                "invalid_scope",
                1002012,
                f"The provided value for scope {' '.join(scopes)} is not valid. Client credential "
                "flows must have a scope value with /.default suffixed to the resource "
                "identifier (application ID URI).",
            )
        if realm in _SPECIAL_TENANTS:
            return aad_error(
                400,
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by "
                "any provided credentials.",
            )
        resource = scopes[0][: -len("/.default")]
        is_graph = resource.lower() in (GRAPH_RESOURCE, GRAPH_APP_ID)
        with self._lock:
            self.client_credentials_count += 1
            now = time.time()
            access = self._access_token(
                form["client_id"],
                None,
                frozenset(self.app_roles) if is_graph else frozenset(),
                GRAPH_RESOURCE if is_graph else resource,
                now,
            )
        return Reply.json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": self.token_lifetime,
                "ext_expires_in": self.token_lifetime,
                "access_token": access,
                "scope": scopes[0],
            },
            {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
            _AAD_JSON,
        )

    def _access_token(
        self,
        client_id: str,
        user: _User | None,
        permissions: frozenset[str],
        audience: str,
        now: float,
    ) -> str:
        claims: JSON = {
            "aud": audience,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": int(now),
            "nbf": int(now),
            "exp": int(now) + self.token_lifetime,
            "appid": client_id,
            "tid": self.tenant_id,
            "uti": _b64url(os.urandom(16)),
            "ver": "1.0",
        }
        if user is None:
            claims["roles"] = sorted(permissions)
        else:
            claims.update({"oid": user.oid, "upn": user.upn, "scp": " ".join(sorted(permissions))})
        token = _jwt(claims)
        self._access[token] = _Grant(
            token=token,
            client_id=client_id,
            user=user.oid if user else None,
            permissions=permissions,
            audience=audience,
            expires_at=now + self.token_lifetime,
        )
        return token

    def _user_tokens(
        self, client_id: str, oid: str, scopes: Sequence[str], form: Mapping[str, str]
    ) -> Reply:
        """The token answer of a user flow (call under the lock)."""
        resources = {r for r in (_resource_of(s) for s in scopes) if r is not None}
        if len(resources) > 1:
            return aad_error(
                400,
                "invalid_scope",
                28000,
                "Provided value for the input parameter scope is not valid because it contains "
                "more than one resource.",
            )
        audience = resources.pop() if resources else GRAPH_RESOURCE
        user = self._user(oid)
        permissions: set[str] = set()
        if audience == GRAPH_RESOURCE:
            permissions.update(self.consented)
            for scope in scopes:
                permission = _graph_permission(scope)
                if permission == ".default":
                    permissions.update(self.consented)
                elif permission:
                    permissions.add(permission)
        now = time.time()
        access = self._access_token(client_id, user, frozenset(permissions), audience, now)
        granted = [s for s in scopes if s.lower() != "offline_access"]
        granted += [p for p in self.consented if p not in granted and audience == GRAPH_RESOURCE]
        response: JSON = {
            "token_type": "Bearer",
            "scope": " ".join(granted),
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": access,
        }
        lowered = {s.lower() for s in scopes}
        if "offline_access" in lowered:
            refresh = "1.AXkA" + _b64url(os.urandom(48))
            self._refresh[refresh] = _RefreshToken(client_id, oid, list(scopes))
            response["refresh_token"] = refresh
        if "openid" in lowered:
            response["id_token"] = self._id_token(client_id, user, now)
        if form.get("client_info") == "1":
            response["client_info"] = _b64url_json({"uid": user.oid, "utid": self.tenant_id})
        return Reply.json(
            200, response, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}, _AAD_JSON
        )

    def _id_token(self, client_id: str, user: _User, now: float) -> str:
        subject = hashlib.sha256(f"{user.oid}:{client_id}".encode()).digest()
        return _jwt(
            {
                "aud": client_id,
                "iss": f"{self.root}{self.tenant_id}/v2.0",
                "iat": int(now),
                "nbf": int(now),
                "exp": int(now) + 3600,
                "name": user.name,
                "oid": user.oid,
                "preferred_username": user.upn,
                "rh": "0.AXkA" + _b64url(os.urandom(12)),
                "sub": _b64url(subject),
                "tid": self.tenant_id,
                "uti": _b64url(os.urandom(16)),
                "ver": "2.0",
            }
        )

    # ------------------------------------------------------------------ Graph entry

    def _authenticate(self, headers: Mapping[str, str]) -> _Auth:
        scheme, _, token = headers.get("authorization", "").strip().partition(" ")
        token = token.strip()
        challenge = {
            "WWW-Authenticate": f'Bearer realm="", authorization_uri="{self.root}common/oauth2/'
            f'authorize", client_id="{GRAPH_APP_ID}"'
        }
        if scheme.lower() != "bearer" or not token:
            return _Auth(
                None,
                graph_error(401, "InvalidAuthenticationToken", "Access token is empty.", challenge),
            )
        with self._lock:
            grant = self._access.get(token)
        if grant is None or grant.revoked:
            message = (
                "IDX14100: JWT is not well formed, there are no dots (.)."
                if "." not in token
                else "Access token validation failure."
            )
            return _Auth(None, graph_error(401, "InvalidAuthenticationToken", message, challenge))
        if grant.audience != GRAPH_RESOURCE:
            return _Auth(
                None,
                graph_error(
                    401,
                    "InvalidAuthenticationToken",
                    "Access token validation failure. Invalid audience.",
                    challenge,
                ),
            )
        if time.time() >= grant.expires_at:
            return _Auth(
                grant,
                graph_error(
                    401,
                    "InvalidAuthenticationToken",
                    "Lifetime validation failed, the token is expired.",
                    challenge,
                ),
            )
        return _Auth(grant, None)

    def _graph_http(self, verb: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """A Graph HTTP request: early-retry bookkeeping, the concurrency limit, then the call."""
        auth = self._authenticate(headers)
        client = auth.grant.client if auth.grant is not None else None
        refusal: Reply | None = None
        with self._lock:
            now = self.clock()
            self.requests += 1
            self._in_flight += 1
            self.max_concurrent_seen = max(self.max_concurrent_seen, self._in_flight)
            if client is not None:
                deadline = self._retry_deadline.get(client)
                if deadline is not None and now < deadline:
                    self.early_retries += 1
                    self.early.append((client, target, deadline - now))
                    if self.strict_retry_after:
                        wait = str(max(1, math.ceil(deadline - now)))
                        refusal = graph_error(
                            429, "TooManyRequests", _FAULTS[429][1], {"Retry-After": wait}
                        )
                        self.throttled["TooManyRequests"] += 1
            if refusal is None and self._in_flight > self.max_concurrent:
                self.concurrency_refusals += 1
                refusal = graph_error(
                    429,
                    "ApplicationThrottled",
                    _CONCURRENCY_MESSAGE,
                    {"Retry-After": self.concurrency_retry_after},
                )
                self._note_throttle(client, refusal, "concurrency")
        try:
            if refusal is not None:
                return refusal
            if self.delay > 0:
                time.sleep(self.delay)
            split = urlsplit(target)
            relative = target[len("/v1.0") :] or "/"
            if split.path.lower() == "/v1.0/$batch":
                return self._batch(verb, body, auth)
            return self._graph_call(verb, relative, headers, auth)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _note_throttle(self, client: tuple[str, str] | None, reply: Reply, kind: str) -> None:
        """Record a 429 and when its Retry-After ends for the client (call under the lock)."""
        if reply.status != 429:
            return
        code = str(reply.data["error"]["code"]) if isinstance(reply.data, dict) else "?"
        self.throttled[code] += 1
        retry_after = reply.headers.get("Retry-After")
        if client is None or retry_after is None:
            return
        try:
            seconds = float(retry_after)
        except ValueError:
            return
        until = self.clock() + seconds
        self._retry_deadline[client] = max(self._retry_deadline.get(client, until), until)
        self.throttle_log.append((client, kind, until))

    def _route(self, path: str) -> tuple[str, dict[str, str]] | None:
        for kind, pattern in _ROUTES:
            match = pattern.fullmatch(path)
            if match:
                groups = {k: v for k, v in match.groupdict().items() if v is not None}
                return kind, groups
        return None

    def _graph_call(self, verb: str, target: str, headers: Mapping[str, str], auth: _Auth) -> Reply:
        """One Graph call (top level or a batch item): route, authenticate, fault, handle."""
        split = urlsplit(target)
        path = unquote(split.path).rstrip("/") or "/"
        found = self._route(path)
        if found is None:
            segment = path.rstrip("/").rsplit("/", 1)[-1] or path
            return graph_error(
                400, "BadRequest", f"Resource not found for the segment '{segment}'."
            )
        kind, groups = found
        if verb != "GET":
            return graph_error(405, "BadRequest", f"The HTTP method '{verb}' is not allowed.")
        if auth.error is not None or auth.grant is None:
            return auth.error or graph_error(401, "InvalidAuthenticationToken", "Access denied.")
        grant = auth.grant
        with self._lock:
            self.calls[kind] += 1
            fault = self._take_fault(kind)
            if fault is not None:
                reply = self._fault_reply(fault)
                self._note_throttle(grant.client, reply, kind)
                return reply
            try:
                user, prefix = self._principal(grant, groups)
                self._check_permission(grant, kind)
                call = _Call(kind, user, prefix, groups, _Query(split.query),
                             _preferences(headers), grant)  # fmt: skip
                return self._handlers[kind](call)
            except GraphError as exc:
                return exc.reply

    @property
    def _handlers(self) -> dict[str, Callable[[_Call], Reply]]:
        return {
            "user.get": self._user_get,
            "mailFolders.list": self._folders_list,
            "mailFolders.get": self._folder_get,
            "messages.delta": self._messages_delta,
            "contacts.delta": self._contacts_delta,
            "calendarView.delta": self._calendar_delta,
        }

    def _take_fault(self, kind: str) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.kind is None or fault.kind == kind:
                del self._faults[index]
                return fault
        if (
            self._throttle_p > 0
            and self._throttle_kind in (None, kind)
            and self._throttle_rng.random() < self._throttle_p
        ):
            return _Fault(429, self._throttle_retry_after, None)
        return None

    @staticmethod
    def _fault_reply(fault: _Fault) -> Reply:
        code, message = _FAULTS.get(fault.status, ("UnknownError", "An error occurred."))
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        return graph_error(fault.status, fault.code or code, message, headers)

    def _principal(self, grant: _Grant, groups: Mapping[str, str]) -> tuple[_User, str]:
        """The mailbox a call addresses and its URL prefix for links (call under the lock)."""
        ref = groups.get("user") or groups.get("quser")
        if ref is None:
            if grant.user is None:
                raise GraphError(
                    400,
                    "BadRequest",
                    "/me request is only valid with delegated authentication flow.",
                )
            return self._user(grant.user), "me"
        user = self._find_user(ref)
        if grant.user is not None and (user is None or user.oid != grant.user):
            raise GraphError(403, "ErrorAccessDenied", _ACCESS_DENIED)
        if user is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{ref}' is invalid.")
        return user, f"users/{quote(ref, safe='@')}"

    def _check_permission(self, grant: _Grant, kind: str) -> None:
        if not self.check_scopes:
            return
        allowed = _PERMISSIONS[_NEEDS[kind]]
        if kind == "user.get" and grant.user is None:
            allowed = allowed - {"User.Read", "User.ReadWrite"}
        if not allowed & grant.permissions:
            raise GraphError(403, "ErrorAccessDenied", _ACCESS_DENIED)

    # ------------------------------------------------------------------ batch

    def _batch(self, verb: str, body: bytes, auth: _Auth) -> Reply:
        """JSON batching: run each request in order and answer them all in one body."""
        with self._lock:
            self.calls["batch"] += 1
        if verb != "POST":
            return graph_error(405, "BadRequest", f"The HTTP method '{verb}' is not allowed.")
        try:
            payload = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeError):
            return graph_error(400, "BadRequest", "Invalid batch payload format.")
        items = payload.get("requests") if isinstance(payload, dict) else None
        if not isinstance(items, list) or not items:
            return graph_error(400, "BadRequest", "Invalid batch payload format.")
        with self._lock:
            self.batch_sizes.append(len(items))
        if len(items) > self.batch_limit:
            return graph_error(
                400,
                "BadRequest",
                f"Number of batch request steps exceeds the maximum of {self.batch_limit}.",
            )
        seen: set[str] = set()
        for item in items:
            if not (
                isinstance(item, dict)
                and isinstance(item.get("id"), str)
                and isinstance(item.get("method"), str)
                and isinstance(item.get("url"), str)
            ):
                return graph_error(
                    400, "BadRequest", "Each batch request needs string id, method and url."
                )
            if item["id"] in seen:
                return graph_error(400, "BadRequest", f"Batch request id '{item['id']}' repeats.")
            seen.add(item["id"])
        statuses: dict[str, int] = {}
        responses: list[JSON] = []
        for item in items:
            depends = item.get("dependsOn") or []
            url = str(item["url"])
            if any(statuses.get(str(d), 424) >= 400 for d in depends):
                reply = graph_error(
                    424, "FailedDependency", "A request this request depends on failed."
                )
            elif url.lower().startswith(("http://", "https://")):
                reply = graph_error(400, "BadRequest", "Invalid request URI: it must be relative.")
            elif url.lstrip("/").lower().startswith("$batch"):
                reply = graph_error(400, "BadRequest", "Batch requests cannot be nested.")
            else:
                inner = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
                reply = self._graph_call(
                    str(item["method"]).upper(), "/" + url.lstrip("/"), inner, auth
                )
            statuses[item["id"]] = reply.status
            kept = ("content-type", "retry-after", "location", "preference-applied")
            responses.append(
                {
                    "id": item["id"],
                    "status": reply.status,
                    "headers": {k: v for k, v in reply.headers.items() if k.lower() in kept},
                    "body": reply.data,
                }
            )
        return Reply.json(200, {"responses": responses})

    # ------------------------------------------------------------------ Graph handlers

    def _context(self, fragment: str) -> str:
        return f"{self.graph_endpoint}/$metadata#{fragment}"

    def _user_get(self, call: _Call) -> Reply:
        profile = {"@odata.context": self._context("users/$entity"), **call.user.profile()}
        return Reply.json(200, profile)

    def _folder_json(self, owner: _User, folder: _Folder) -> JSON:
        children = sum(1 for f in owner.folders.values() if f.parent == folder.id)
        inside = [i for i in self._items.values() if i.kind == "messages" and i.scope == folder.id]
        return {
            "id": folder.id,
            "displayName": folder.name,
            "parentFolderId": folder.parent,
            "childFolderCount": children,
            "unreadItemCount": sum(1 for i in inside if not i.data.get("isRead")),
            "totalItemCount": len(inside),
            "sizeInBytes": 0,
            "isHidden": False,
        }

    def _resolve_folder(self, owner: _User, ref: str) -> _Folder:
        """A folder in a URL: a well-known name (any case) or an id, as Graph accepts."""
        folder_id = owner.well_known.get(ref.lower())
        if folder_id is not None:
            return owner.folders[folder_id]
        if ref in owner.folders:
            return owner.folders[ref]
        if ref.startswith("AAMk"):
            raise GraphError(
                404, "ErrorItemNotFound", "The specified object was not found in the store."
            )
        raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")

    def _folders_list(self, call: _Call) -> Reply:
        owner = call.user
        root = owner.well_known["msgfolderroot"]
        folders = [f for f in owner.folders.values() if f.parent == root]
        top = _int_param(call.query, "$top", 10, 1, 999)
        skip = _int_param(call.query, "$skip", 0, 0, 1_000_000)
        page = folders[skip : skip + top]
        body: JSON = {
            "@odata.context": self._context("Collection(mailFolder)"),
            "value": [self._folder_json(owner, f) for f in page],
        }
        if skip + top < len(folders):
            body["@odata.nextLink"] = (
                f"{self.graph_endpoint}/{call.prefix}/mailFolders?%24top={top}&%24skip={skip + top}"
            )
        return Reply.json(200, body)

    def _folder_get(self, call: _Call) -> Reply:
        ref = call.groups.get("folder") or call.groups.get("qfolder") or ""
        folder = self._resolve_folder(call.user, ref)
        body = {"@odata.context": self._context("mailFolders/$entity")}
        body.update(self._folder_json(call.user, folder))
        return Reply.json(200, body)

    def _messages_delta(self, call: _Call) -> Reply:
        ref = call.groups.get("folder") or call.groups.get("qfolder") or ""
        folder = self._resolve_folder(call.user, ref)
        link = f"{call.prefix}/mailFolders('{folder.id}')/messages"
        return self._delta(call, "messages", folder.id, folder.well_known or folder.id, link)

    def _contacts_delta(self, call: _Call) -> Reply:
        ref = call.groups.get("cfolder") or call.groups.get("qcfolder")
        if ref is not None and ref.lower() != "contacts" and ref != call.user.contacts_folder:
            if ref.startswith("AAMk"):
                raise GraphError(
                    404, "ErrorItemNotFound", "The specified object was not found in the store."
                )
            raise GraphError(400, "ErrorInvalidIdMalformed", "Id is malformed.")
        scope = call.user.contacts_folder
        link = f"{call.prefix}/contactFolders('{scope}')/contacts"
        return self._delta(call, "contacts", scope, "contacts", link)

    def _calendar_delta(self, call: _Call) -> Reply:
        return self._delta(
            call, "calendarView", "calendar", "calendarView", f"{call.prefix}/calendarView"
        )

    # ------------------------------------------------------------------ delta engine

    def _delta(self, call: _Call, kind: str, scope: str, label: str, link: str) -> Reply:
        """One page of a delta round (call under the lock).

        Tokens are opaque base64url JSON: the collection, the round's lower bound ``since``
        (None: a full round) and snapshot ``snap`` (changes after it wait for the next round),
        the sort key of the last item served, and the first request's query parameters.
        """
        query = call.query
        collection = [call.user.oid, kind, scope]
        skip = query.get("$skiptoken")
        delta = query.get("$deltatoken")
        served = 0
        after: list[Any] | None = None
        if skip is not None or delta is not None:
            token = _decode_token(skip if skip is not None else delta or "")
            expected = "skip" if skip is not None else "delta"
            if token is None or token.get("k") != expected or token.get("c") != collection:
                raise GraphError(400, "SyncStateInvalid", "The sync state is invalid or corrupt.")
            params = {str(k): str(v) for k, v in dict(token.get("q") or {}).items()}
            made = int(token["snap"])
            floor = self._delta_floor.get((call.user.oid, kind, scope))
            if floor is not None and made <= floor[0]:
                location = self._initial_link(link, params)
                raise GraphError(floor[1], floor[2], _EXPIRED_MESSAGE, {"Location": location})
            if skip is not None:
                since = token.get("since")
                snap = made
                after = token.get("after")
                served = int(token.get("served", 0))
            else:
                since, snap = made, self._seq
        else:
            params = {query.names[name]: values[-1] for name, values in query.raw.items() if values}
            since, snap = None, self._seq
        options = self._delta_options(kind, params)
        page_size, applied = self._page_size(call.prefs)
        entries = self._delta_entries(kind, call.user.oid, scope, since, snap, options)
        if after is not None:
            entries = [entry for entry in entries if entry[0] > after]
        top = options.get("top")
        limit = page_size
        if since is None and isinstance(top, int):
            limit = max(0, min(page_size, top - served))
        page = entries[:limit]
        more = len(entries) > len(page) and not (
            since is None and isinstance(top, int) and served + len(page) >= top
        )
        odata_type = f"#microsoft.graph.{_SINGULAR[kind]}"
        context = (
            "Collection(event)" if kind == "calendarView" else f"Collection({_SINGULAR[kind]})"
        )
        body: JSON = {"@odata.context": self._context(context), "value": [e[1] for e in page]}
        base = f"{self.graph_endpoint}/{link}/microsoft.graph.delta()"
        if more:
            state = {"k": "skip", "c": collection, "since": since, "snap": snap,
                     "after": page[-1][0], "served": served + len(page), "q": params}  # fmt: skip
            body["@odata.nextLink"] = f"{base}?$skiptoken={_encode_token(state)}"
        else:
            state = {"k": "delta", "c": collection, "snap": snap, "q": params}
            body["@odata.deltaLink"] = f"{base}?$deltatoken={_encode_token(state)}"
        for entry in body["value"]:
            entry.setdefault("@odata.type", odata_type)
        headers: dict[str, str] = {}
        if "idtype" in call.prefs:
            applied.append(f'IdType="{call.prefs["idtype"]}"')
        if applied:
            headers["Preference-Applied"] = ", ".join(applied)
        self.pages[label] += 1
        self.page_log.append((call.user.upn, kind, label, len(page)))
        return Reply.json(200, body, headers)

    def _initial_link(self, link: str, params: Mapping[str, str]) -> str:
        url = f"{self.graph_endpoint}/{link}/delta"
        return url + ("?" + urlencode(params, safe="$:,' ") if params else "")

    def _page_size(self, prefs: Mapping[str, str]) -> tuple[int, list[str]]:
        """Items per page and the Preference-Applied entries for odata.maxpagesize."""
        asked = prefs.get("odata.maxpagesize")
        if asked is not None:
            try:
                wanted = int(asked)
            except ValueError:
                wanted = 0
            if wanted > 0:
                size = max(1, min(wanted, self.max_page_size))
                return size, [f"odata.maxpagesize={size}"]
        return max(1, min(self.default_page_size, self.max_page_size)), []

    def _delta_options(self, kind: str, params: Mapping[str, str]) -> dict[str, Any]:
        """Validate a delta round's query parameters; the parsed $select, $filter, $top, window."""
        options: dict[str, Any] = {}
        params = {name.lower(): value for name, value in params.items()}
        names = set(params)
        if kind == "calendarView":
            refused = sorted(
                names & {"$select", "$filter", "$orderby", "$expand", "$search", "$top", "$skip"}
            )
            if refused:
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQuery",
                    "The following parameters are not supported with change tracking over the "
                    f"'CalendarView' resource: '{', '.join(refused)}'.",
                )
            start = _parse_time(params.get("startdatetime", ""))
            end = _parse_time(params.get("enddatetime", ""))
            if start is None or end is None:
                raise GraphError(
                    400,
                    "ErrorInvalidParameter",
                    "This request requires a time window specified by the query string "
                    "parameters StartDateTime and EndDateTime.",
                )
            options["window"] = (start.timestamp(), end.timestamp())
            return options
        for name in ("$search", "$expand", "$skip", "$count"):
            if name in names:
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQuery",
                    f"The query parameter '{name}' is not supported with change tracking.",
                )
        select = params.get("$select")
        if select is not None:
            canonical = {p.lower(): p for p in _SELECTABLE[kind]}
            chosen: list[str] = []
            for raw in select.split(","):
                wanted = raw.strip()
                if not wanted or wanted.lower() == "id":
                    continue
                if wanted.lower() not in canonical:
                    raise GraphError(
                        400,
                        "RequestBroker--ParseUri",
                        f"Could not find a property named '{wanted}' on type "
                        f"'microsoft.graph.{_SINGULAR[kind]}'.",
                    )
                chosen.append(canonical[wanted.lower()])
            options["select"] = chosen
        if "$top" in names:
            try:
                top = int(params["$top"])
            except ValueError:
                top = 0
            if top < 1:
                raise GraphError(400, "ErrorInvalidUrlQuery", "Invalid value for $top.")
            options["top"] = top
        text = params.get("$filter")
        if text is not None:
            match = re.fullmatch(r"\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*", text, re.IGNORECASE)
            moment = _parse_time(match.group(2)) if match and kind == "messages" else None
            if match is None or moment is None:
                raise GraphError(
                    400,
                    "ErrorInvalidUrlQueryFilter",
                    "Change tracking supports only $filter=receivedDateTime ge|gt {value} "
                    "on messages.",
                )
            options["filter"] = (match.group(1).lower(), moment.timestamp())
        order = params.get("$orderby")
        if order is not None and (
            kind != "messages" or " ".join(order.split()).lower() != "receiveddatetime desc"
        ):
            raise GraphError(
                400,
                "ErrorInvalidUrlQuery",
                "Change tracking supports only $orderby=receivedDateTime desc on messages.",
            )
        return options

    def _delta_entries(
        self,
        kind: str,
        mailbox: str,
        scope: str,
        since: int | None,
        snap: int,
        options: Mapping[str, Any],
    ) -> list[tuple[list[Any], JSON]]:
        """Every (sort key, rendered item) of a round, in order (paging slices it)."""
        entries: list[tuple[list[Any], JSON]] = []
        present: set[str] = set()
        for item in self._items.values():
            if item.kind != kind or item.mailbox != mailbox or item.scope != scope:
                continue
            if item.seq > snap or (since is not None and item.seq <= since):
                continue
            if not _wanted(item, options):
                continue
            if since is not None:
                key: list[Any] = [item.seq, item.id]
            elif kind == "messages":
                key = [-item.order, item.id]
            else:
                key = [item.order, item.id]
            entries.append((key, _render(item, options.get("select"))))
            present.add(item.id)
        if since is not None:
            removed: set[str] = set()
            for tomb in self._tombstones:
                if (
                    tomb.kind != kind
                    or tomb.mailbox != mailbox
                    or tomb.scope != scope
                    or not since < tomb.seq <= snap
                    or tomb.id in present
                    or tomb.id in removed
                ):
                    continue
                current = self._items.get(tomb.id)
                if current is not None and current.scope == scope and current.seq <= snap:
                    continue  # it came back within the round
                removed.add(tomb.id)
                gone = {
                    "@odata.type": f"#microsoft.graph.{_SINGULAR[kind]}",
                    "id": tomb.id,
                    "@removed": {"reason": "deleted"},
                }
                entries.append(([tomb.seq, tomb.id], gone))
        entries.sort(key=lambda entry: entry[0])
        return entries


# --------------------------------------------------------------------------- module helpers


def _form(body: bytes) -> dict[str, str]:
    parsed = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: values[-1] for key, values in parsed.items()}


def _int_param(query: _Query, name: str, default: int, low: int, high: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise GraphError(400, "BadRequest", f"Invalid value '{text}' for {name}.") from None
    if value < low:
        raise GraphError(400, "BadRequest", f"Invalid value '{text}' for {name}.")
    return min(value, high)


def _wanted(item: _Item, options: Mapping[str, Any]) -> bool:
    """Whether an item passes a round's $filter or calendar window."""
    flt = options.get("filter")
    if flt is not None:
        op, bound = flt
        if not (item.order >= bound if op == "ge" else item.order > bound):
            return False
    window = options.get("window")
    if window is not None:
        start, end = window
        if not (item.order < end and item.end > start):
            return False
    return True


def _render(item: _Item, select: Sequence[str] | None) -> JSON:
    """An item's JSON: annotations, the selected (or default) properties, then the id."""
    out: JSON = {
        "@odata.type": f"#microsoft.graph.{_SINGULAR[item.kind]}",
        "@odata.etag": f'W/"{item.data.get("changeKey", "")}"',
    }
    if select is not None:
        for name in select:
            out[name] = copy.deepcopy(item.data.get(name))
    else:
        hidden = _NOT_BY_DEFAULT.get(item.kind, frozenset())
        for name, value in item.data.items():
            if name != "id" and name not in hidden:
                out[name] = copy.deepcopy(value)
    out["id"] = item.id
    return out
