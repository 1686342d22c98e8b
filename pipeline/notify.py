"""Telling someone about an unattended run: a dead man's switch pinged over HTTP
(healthchecks.io's protocol, as borgmatic speaks it) and an e-mail digest over SMTP.

Neither may fail a run: a monitoring service or mail server that cannot be reached is a
warning returned to the caller. No secret is ever part of what they return.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from pipeline.config import Notify
from pipeline.errors import NetgardenError

#: The most of the log a failure ping carries (healthchecks.io keeps the first 100 kB).
PING_BODY_BYTES = 10_000


def ping(notify: Notify, what: str, body: str = "") -> str | None:
    """Ping `<ping_url>/start`, `<ping_url>` (what="success") or `<ping_url>/fail` with
    `body`; None when it was heard, else the warning to give (the run goes on)."""
    if not notify.ping_url:
        return None
    url = notify.ping_url.rstrip("/") + {"start": "/start", "success": "", "fail": "/fail"}[what]
    data = body.encode("utf-8")[-PING_BODY_BYTES:] if body else None
    request = urllib.request.Request(
        url,
        data=data,
        method="POST" if data is not None else "GET",
        headers={"User-Agent": "netgarden", "Content-Type": "text/plain; charset=utf-8"},
    )
    try:
        # A monitoring service is a plain HTTP(S) endpoint the user configured; urllib is
        # all a ping needs (no retries: the next run pings again, and a missed one is what
        # the service watches for anyway).
        with urllib.request.urlopen(request, timeout=notify.ping_timeout) as answer:
            answer.read(1024)
    except urllib.error.HTTPError as exc:
        return f"the monitoring service answered {exc.code} to the {what} ping ({_host(url)})"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"could not reach the monitoring service at {_host(url)} ({reason})"
    return None


def _host(url: str) -> str:
    """The URL without its path: a ping URL's path is its secret (the check's uuid)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


@dataclass(frozen=True)
class Overdue:
    """A person the digest names."""

    name: str
    email: str
    days_since: object
    days_overdue: object


@dataclass(frozen=True)
class Digest:
    """What the e-mail says: the run's outcome, what failed, each network's most overdue."""

    subject: str
    failures: tuple[str, ...]
    networks: tuple[tuple[str, int, int, tuple[Overdue, ...]], ...]  # name, contacts, overdue
    lines: tuple[str, ...]

    def text(self) -> str:
        parts = [self.subject, ""]
        if self.failures:
            parts += ["What failed:", *(f"  - {f}" for f in self.failures), ""]
        for network, contacts, overdue, people in self.networks:
            parts.append(f"{network}: {overdue} overdue of {contacts}")
            for p in people:
                since = f"{p.days_since} days since" if p.days_since is not None else "never"
                parts.append(
                    f"  - {p.name} <{p.email}>: {since}, {p.days_overdue} days overdue"
                    if p.email
                    else f"  - {p.name}: {since}, {p.days_overdue} days overdue"
                )
            parts.append("")
        parts += ["The run said:", *(f"  {line}" for line in self.lines)]
        return "\n".join(parts) + "\n"


def wants_digest(notify: Notify, failed: bool, overdue: int) -> bool:
    """Whether this run sends the digest (`digest_when`)."""
    if not notify.smtp_host:
        return False
    return notify.digest_when == "always" or failed or overdue > 0


def password(notify: Notify, home: Path) -> str | None:
    """The SMTP password, from its file or environment variable (None: no login).
    NetgardenError when one is named but cannot be read."""
    if not notify.smtp_user:
        return None
    if notify.smtp_password_env:
        value = os.environ.get(notify.smtp_password_env)
        if value is None:
            raise NetgardenError(
                f"the environment variable {notify.smtp_password_env} "
                "(smtp_password_env) is not set"
            )
        return value
    path = Path(os.path.expanduser(notify.smtp_password_file))
    path = path if path.is_absolute() else home / path
    try:
        return path.read_text(encoding="utf-8").strip("\r\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise NetgardenError(f"cannot read the SMTP password file {path}: {exc}") from None


def send_digest(notify: Notify, home: Path, digest: Digest) -> str | None:
    """Send the digest; None when the server took it, else the warning to give."""
    message = EmailMessage()
    sender = notify.mail_from or notify.smtp_user or f"netgarden@{notify.smtp_host}"
    message["From"] = sender
    message["To"] = ", ".join(notify.mail_to)
    message["Subject"] = digest.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message.set_content(digest.text())
    try:
        secret = password(notify, home)
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if notify.smtp_ssl:
            client = smtplib.SMTP_SSL(
                notify.smtp_host, notify.smtp_port, timeout=30, context=context
            )
        else:
            client = smtplib.SMTP(notify.smtp_host, notify.smtp_port, timeout=30)
        with client:
            if notify.smtp_starttls and not notify.smtp_ssl:
                client.starttls(context=context)
            if secret is not None:
                client.login(notify.smtp_user, secret)
            client.send_message(message)
    except NetgardenError as exc:
        return f"the digest was not sent: {exc}"
    except smtplib.SMTPAuthenticationError as exc:
        return f"the digest was not sent: {notify.smtp_host} refused the login ({exc.smtp_code})"
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        return f"the digest was not sent through {notify.smtp_host}:{notify.smtp_port}: {exc}"
    return None


def digest_of(
    subject: str,
    failures: Sequence[str],
    networks: Sequence[tuple[str, int, int, Sequence[Overdue]]],
    lines: Sequence[str],
) -> Digest:
    return Digest(
        subject,
        tuple(failures),
        tuple((n, c, o, tuple(p)) for n, c, o, p in networks),
        tuple(lines),
    )
