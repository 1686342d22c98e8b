"""Microsoft sign-in with msal: device code (or a browser), silent refresh, client credentials.

msal's `SerializableTokenCache` is the only thing kept: a file of mode 0600 in a folder of mode
0700, written only when msal changed it. No token is printed or logged. (msal-extensions'
encrypted persistence needs libsecret, which a headless Linux box lacks; a private file is what
works everywhere.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msal
import requests

from pipeline.config import OutlookAccount
from pipeline.errors import SignInError, SourceError
from pipeline.files import write_private

#: Read-only delegated scopes (msal adds openid, profile and offline_access itself).
SCOPES = ["Mail.ReadBasic", "Contacts.Read", "Calendars.Read", "User.Read"]
#: An app signing in as itself asks for what its admin granted.
APP_SCOPES = ["https://graph.microsoft.com/.default"]


class Throttled(SourceError):
    """The sign-in service answered 429 (msal replays that answer until Retry-After passes)."""


class _SignInSession(requests.Session):
    """msal's HTTP client, noting when the sign-in service asks to be left alone: msal keeps
    that time to itself and answers from its cache until then."""

    retry_at: datetime | None = None

    def post(self, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        response = super().post(url, *args, **kwargs)
        if response.status_code in (429, 503):
            try:
                seconds = float(response.headers.get("Retry-After", "60"))
            except ValueError:
                seconds = 60.0
            self.retry_at = datetime.now(UTC) + timedelta(seconds=seconds)
        return response


def load_cache(path: Path) -> msal.SerializableTokenCache:
    """The account's token cache (empty when there is none yet)."""
    cache = msal.SerializableTokenCache()
    if path.exists():
        try:
            cache.deserialize(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SignInError(f"{path}: not a token cache ({exc})") from None
    return cache


def save_cache(cache: msal.SerializableTokenCache, path: Path) -> None:
    """Write the cache atomically, mode 0600 in a 0700 folder, if msal changed it."""
    if not cache.has_state_changed:
        return
    write_private(path, cache.serialize(), private_folder=True)
    cache.has_state_changed = False


def _options(account: OutlookAccount) -> dict[str, Any]:
    # Instance discovery asks Microsoft which clouds exist: wrong for a test server or proxy.
    return {"authority": account.authority_url, "instance_discovery": not account.authority}


def _made(factory: Callable[..., Any], account: OutlookAccount, **settings: Any) -> Any:
    """An msal application; msal reads the authority's configuration as it is made."""
    session = _SignInSession()
    try:
        app = factory(account.client_id, http_client=session, **settings, **_options(account))
    except requests.RequestException as exc:
        raise SourceError(f"the sign-in service cannot be reached: {exc}") from None
    except ValueError as exc:
        raise SignInError(f"the sign-in authority is not usable: {exc}") from None
    app.sign_in_session = session
    return app


def public_app(
    account: OutlookAccount, cache: msal.SerializableTokenCache
) -> msal.PublicClientApplication:
    return _made(msal.PublicClientApplication, account, token_cache=cache)


def confidential_app(
    account: OutlookAccount, cache: msal.SerializableTokenCache, secret: str
) -> msal.ConfidentialClientApplication:
    return _made(
        msal.ConfidentialClientApplication, account, client_credential=secret, token_cache=cache
    )


def _token(result: dict[str, Any] | None, what: str, app: Any = None) -> str:
    """The access token of an msal result, or one clear error."""
    if result and "access_token" in result:
        return str(result["access_token"])
    if not result:
        raise SignInError(f"{what}: not signed in; run `netgarden auth outlook` first")
    description = str(result.get("error_description") or result.get("error") or "")
    first_line = description.splitlines()[0] if description else "no reason given"
    if (
        "429" in description
        or "throttl" in description.lower()
        or result.get("error") in ("temporarily_unavailable",)
    ):
        retry_at = getattr(getattr(app, "sign_in_session", None), "retry_at", None)
        when = f"{retry_at:%Y-%m-%d %H:%M:%S} UTC" if retry_at else "a later run"
        raise Throttled(f"{what}: the signed-in service is throttling; next try at {when}")
    raise SignInError(f"{what}: sign-in failed ({first_line}); run `netgarden auth outlook`")


def device_sign_in(
    app: msal.PublicClientApplication, tell: Callable[[str], None]
) -> dict[str, Any]:
    """The device code flow: tell the user where to go and which code to type, then wait."""
    flow = app.initiate_device_flow(scopes=SCOPES)
    if "user_code" not in flow:
        raise SignInError(f"device sign-in could not start: {_token(flow, 'sign-in')}")
    # msal's own message holds exactly the address and the code, nothing secret.
    tell(str(flow.get("message") or f"Open {flow['verification_uri']}: {flow['user_code']}"))
    result = app.acquire_token_by_device_flow(flow)
    _token(result, "sign-in")
    return dict(result)


def browser_sign_in(app: msal.PublicClientApplication) -> dict[str, Any]:
    """The interactive flow (a local browser, a loopback redirect)."""
    result = app.acquire_token_interactive(scopes=SCOPES)
    _token(result, "sign-in")
    return dict(result)


def user_token(
    app: msal.PublicClientApplication, what: str, *, fresh: bool = False
) -> tuple[str, str]:
    """(access token, the signed-in address) from the cache, refreshed silently (`fresh`:
    even when the cached one has not expired, after Graph refused it)."""
    accounts = app.get_accounts()
    if not accounts:
        raise SignInError(f"{what}: not signed in; run `netgarden auth outlook` first")
    try:
        result = app.acquire_token_silent_with_error(
            SCOPES, account=accounts[0], force_refresh=fresh
        )
    except requests.RequestException as exc:
        raise SourceError(f"{what}: the sign-in service cannot be reached: {exc}") from None
    if result is None:
        raise SignInError(f"{what}: the sign-in has expired; run `netgarden auth outlook` again")
    return _token(result, what, app), str(accounts[0].get("username", "")).lower()


def app_token(app: msal.ConfidentialClientApplication, what: str) -> str:
    """An app-only access token (client credentials)."""
    try:
        result = app.acquire_token_for_client(scopes=APP_SCOPES)
    except requests.RequestException as exc:
        raise SourceError(f"{what}: the sign-in service cannot be reached: {exc}") from None
    return _token(result, what, app)
