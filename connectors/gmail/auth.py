"""Google sign-in: the installed-app OAuth flow, and the token file every later run reads.

The token file is google-auth's authorized-user JSON (`token`, `refresh_token`, `token_uri`,
`client_id`, `client_secret`, `scopes`, `expiry`), written with mode 0600 in a folder of mode
0700. It is read here rather than with `Credentials.from_authorized_user_file`, which puts
Google's token endpoint in place of the file's `token_uri` (a proxy's or a test server's
refreshes would leave for Google) and takes a token without `expiry` for expired.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from google.oauth2.credentials import Credentials

from pipeline.errors import ConfigError, NetgardenError, SignInError
from pipeline.files import write_private

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
#: Read-only scopes by short name; `auth gmail --scopes` picks among them.
SCOPES: dict[str, str] = {
    "gmail.metadata": "https://www.googleapis.com/auth/gmail.metadata",
    "contacts.readonly": "https://www.googleapis.com/auth/contacts.readonly",
    "contacts.other.readonly": "https://www.googleapis.com/auth/contacts.other.readonly",
    "calendar.readonly": "https://www.googleapis.com/auth/calendar.readonly",
}


def scope_urls(names: Sequence[str]) -> list[str]:
    """The scope URLs of short names; ConfigError naming the choices for an unknown one."""
    urls: list[str] = []
    for name in names:
        if name not in SCOPES:
            raise ConfigError(f"unknown scope {name!r}; choose from {', '.join(SCOPES)}")
        urls.append(SCOPES[name])
    return urls


def load_credentials(path: Path) -> Credentials:
    """The credentials of a token file; refreshes go to the file's own `token_uri`."""
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SignInError(
            f"{path}: no token; run `netgarden auth gmail` for this account first"
        ) from None
    except (OSError, ValueError) as exc:
        raise SignInError(f"{path}: not a token file ({exc})") from None
    if not isinstance(info, dict) or not info.get("refresh_token"):
        raise SignInError(f"{path}: the token has no refresh_token; run `netgarden auth gmail`")
    token_uri = str(info.get("token_uri") or GOOGLE_TOKEN_URI)
    expiry = None
    if info.get("expiry"):
        try:
            expiry = datetime.fromisoformat(str(info["expiry"]).replace("Z", "+00:00"))
        except ValueError:
            expiry = None
        # google-auth compares naive UTC datetimes.
        if expiry is not None and expiry.tzinfo is not None:
            expiry = expiry.astimezone(UTC).replace(tzinfo=None)
    scopes = info.get("scopes")
    return Credentials(
        token=info.get("token"),
        refresh_token=str(info["refresh_token"]),
        token_uri=token_uri,
        client_id=info.get("client_id"),
        client_secret=info.get("client_secret"),
        scopes=list(scopes) if isinstance(scopes, list) else None,
        expiry=expiry,
    )


def save_credentials(credentials: Credentials, path: Path) -> None:
    """Write the token file atomically, mode 0600, in a folder of mode 0700."""
    write_private(path, credentials.to_json(), private_folder=True)


def sign_in(
    client_secrets: Path,
    scopes: Sequence[str],
    *,
    browser: bool,
    ask: Callable[[str], str],
    tell: Callable[[str], None],
) -> Credentials:
    """Google's installed-app flow. With a browser: a loopback redirect the library serves.
    Without: the consent URL is told, and `ask` takes back the address the browser ended on
    (or just its code)."""
    from google_auth_oauthlib.flow import InstalledAppFlow

    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(client_secrets), scopes=list(scopes))
    except (OSError, ValueError) as exc:
        raise NetgardenError(f"{client_secrets}: not a Google OAuth client file ({exc})") from None
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error
    from requests import RequestException

    # Google's consent screen lets the user leave scopes unticked; oauthlib would take the
    # narrower grant for an error. The token file records what was granted, and sync reads
    # only the parts it may.
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    try:
        if browser:
            credentials = flow.run_local_server(port=0, open_browser=True)
        else:
            flow.redirect_uri = "http://127.0.0.1:1/"
            url, _ = flow.authorization_url(prompt="consent", access_type="offline")
            tell(f"Open this address in any browser and allow access:\n{url}")
            answer = ask("Paste the address the browser ended on (or its code)").strip()
            code = parse_qs(urlparse(answer).query).get("code", [answer])[0]
            flow.fetch_token(code=code)
            credentials = flow.credentials
    except (OAuth2Error, RequestException) as exc:
        raise NetgardenError(f"Google sign-in failed: {exc}") from None
    if not isinstance(credentials, Credentials):
        raise NetgardenError("Google returned credentials of an unexpected kind")
    return credentials
