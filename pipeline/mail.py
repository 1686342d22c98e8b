"""Which messages are exchanges with whom: one policy for every mail source.

Mail archives, Gmail and Outlook all hand a `Message` (the few headers netgarden reads, never a
subject or a body) to `exchanges()`, which either names the rule that skips it (spam, bulk mail,
a no-reply sender, too many recipients, ...) or returns one `Interaction` per counterpart: every
To, Cc and Bcc recipient of a message the user sent, the sender of a message the user received.
Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from pipeline.model import Handle, Interaction

#: Senders that are not people, as shell-style patterns over the whole address (case-insensitive).
#: `role_senders` in config.toml replaces this list.
DEFAULT_ROLE_SENDERS: tuple[str, ...] = (
    "noreply*@*",
    "no-reply*@*",
    "no_reply*@*",
    "donotreply*@*",
    "do-not-reply*@*",
    "do_not_reply*@*",
    "*@noreply.*",
    "*@*.noreply.*",
    "mailer-daemon@*",
    "postmaster@*",
    "bounce*@*",
    "*-bounces@*",
    "*-bounces+*@*",
    "notification*@*",
    "notify@*",
    "alert@*",
    "alerts@*",
    "newsletter*@*",
    "news@*",
    "info@*",
    "support@*",
    "help@*",
    "billing@*",
    "invoice*@*",
    "receipts@*",
    "orders@*",
    "marketing@*",
    "webmaster@*",
    "admin@*",
    "abuse@*",
    "calendar-notification@*",
)
DEFAULT_MAX_RECIPIENTS = 20

#: Skip reasons, as `import` reports them.
SPAM = "labelled Spam"
TRASH = "labelled Trash"
CHAT = "chats"
DRAFT = "drafts"
BULK = "bulk or list mail"
ROLE = "no-reply or role senders"
CROWD = "too many recipients"
IGNORED = "ignored addresses"
SELF = "only to yourself"
NO_SENDER = "no sender"
EMPTY = "empty messages"

_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_ME, _IGNORED, _ROLE = 1, 2, 4


@dataclass(frozen=True, slots=True)
class Address:
    """A normalized (lowercased) e-mail address and the display name that came with it."""

    email: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    """What netgarden reads of one message: who, when, which labels, whether it is bulk.

    `labels` are lowercased (Gmail's X-Gmail-Labels or label ids, a folder's role such as
    "sent" or "drafts"). `sent` is True when the source itself says the user sent it (Gmail's
    SENT label, a Sent folder); otherwise the sender decides. `key` is the stable identity of the
    message across sources: see `message_key`.
    """

    at: datetime
    key: str
    sender: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    labels: frozenset[str] = frozenset()
    sent: bool = False
    draft: bool = False
    list_id: str = ""
    list_unsubscribe: str = ""
    precedence: str = ""
    auto_submitted: str = ""
    #: What the headers meant as addresses but are not valid ones: reported, never people.
    invalid: tuple[str, ...] = ()


@dataclass(frozen=True)
class MailPolicy:
    """The user's addresses and the noise rules, from config.toml.

    `ignore` holds addresses (with an @) and domains (without; a domain covers its subdomains).
    """

    me: frozenset[str] = frozenset()
    ignore: tuple[str, ...] = ()
    role_senders: tuple[str, ...] = DEFAULT_ROLE_SENDERS
    max_recipients: int = DEFAULT_MAX_RECIPIENTS
    _verdicts: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def with_me(self, addresses: Iterable[str]) -> MailPolicy:
        """This policy with more addresses of the user's (inferred ones)."""
        return MailPolicy(
            me=self.me | frozenset(a.lower() for a in addresses),
            ignore=self.ignore,
            role_senders=self.role_senders,
            max_recipients=self.max_recipients,
        )

    def is_me(self, email: str) -> bool:
        """Whether an address is the user's, plus-tags included (me+news@x is me@x)."""
        if email in self.me:
            return True
        local, _, domain = email.partition("@")
        plus = local.find("+")
        return plus > 0 and f"{local[:plus]}@{domain}" in self.me

    @cached_property
    def _role_re(self) -> re.Pattern[str]:
        patterns = [fnmatch.translate(p.lower()) for p in self.role_senders] or ["(?!)"]
        return re.compile("|".join(f"(?:{p})" for p in patterns))

    @cached_property
    def _ignored(self) -> tuple[frozenset[str], tuple[str, ...]]:
        addresses = frozenset(i.lower().strip() for i in self.ignore if "@" in i.strip("@"))
        domains = tuple(
            i.lower().strip().lstrip("@") for i in self.ignore if "@" not in i.strip().lstrip("@")
        )
        return addresses, domains

    def is_role(self, email: str) -> bool:
        """Whether an address is a no-reply or role address (not a person)."""
        return self._role_re.fullmatch(email) is not None

    def verdict(self, email: str) -> int:
        """`_ME | _IGNORED | _ROLE` bits of an address, worked out once per address: a large
        archive names the same few thousand people hundreds of thousands of times."""
        known = self._verdicts.get(email)
        if known is None:
            known = (
                (_ME if self.is_me(email) else 0)
                | (_IGNORED if self.is_ignored(email) else 0)
                | (_ROLE if self.is_role(email) else 0)
            )
            self._verdicts[email] = known
        return known

    @property
    def ignores_any(self) -> bool:
        """Whether the user asked to ignore any address or domain at all."""
        addresses, domains = self._ignored
        return bool(addresses or domains)

    def is_ignored(self, email: str) -> bool:
        """Whether the user asked to ignore this address or its domain."""
        addresses, domains = self._ignored
        if email in addresses:
            return True
        domain = email.rpartition("@")[2]
        return any(domain == d or domain.endswith("." + d) for d in domains)


def message_key(message_id: str, *fallback: str) -> str:
    """The key of a message: its Message-ID (without angle brackets), else a digest of the
    headers it does have, so that the same message from two sources counts once."""
    mid = message_id.strip().strip("<>").strip()
    if mid and " " not in mid:
        return "mid:" + mid
    digest = hashlib.sha1("\x1f".join(fallback).encode("utf-8", "surrogatepass")).hexdigest()
    return "hdr:" + digest


def skip_reason(message: Message) -> str:
    """The rule that makes a message noise, or "" when it may be an exchange."""
    return noise(
        message.labels,
        message.draft,
        message.list_id,
        message.list_unsubscribe,
        message.precedence,
        message.auto_submitted,
    )


def noise(
    labels: frozenset[str],
    draft: bool,
    list_id: str,
    list_unsubscribe: str,
    precedence: str,
    auto_submitted: str,
) -> str:
    """The label or bulk rule that makes a message noise, or "": what `skip_reason` decides
    before any address is read, for readers that check it before parsing the rest."""
    if labels:
        if "spam" in labels:
            return SPAM
        if "trash" in labels:
            return TRASH
        if "chat" in labels or "chats" in labels:
            return CHAT
        if "draft" in labels or "drafts" in labels:
            return DRAFT
    if draft:
        return DRAFT
    if (
        list_id
        or list_unsubscribe
        or precedence.strip().lower() in _BULK_PRECEDENCE
        or (auto_submitted and auto_submitted.strip().lower() != "no")
    ):
        return BULK
    return ""


def exchanges(
    message: Message, policy: MailPolicy, source: str, *, noise_checked: bool = False
) -> tuple[str, list[Interaction]]:
    """(skip reason, []) for noise; ("", interactions) for an exchange.

    A message the user sent is an outbound exchange with each distinct recipient; one the user
    received is an inbound exchange with its sender only (a co-recipient is not a contact).
    `noise_checked`: the reader already applied `noise()` to this message.
    """
    if not noise_checked:
        reason = skip_reason(message)
        if reason:
            return reason, []
    verdict = policy.verdict
    recipients: dict[str, tuple[str, int]] = {}
    for address in (*message.to, *message.cc, *message.bcc):
        email = address.email
        if email not in recipients:
            bits = verdict(email)
            if not bits & _ME:
                recipients[email] = (address.name, bits)
    if len(recipients) > policy.max_recipients:
        return CROWD, []
    if (
        message.sent
        or "sent" in message.labels
        or (message.sender is not None and verdict(message.sender.email) & _ME)
    ):
        kept = [(email, name) for email, (name, bits) in recipients.items() if not bits]
        if not kept:
            if not recipients:
                return SELF, []
            if all(bits & _IGNORED for _, bits in recipients.values()):
                return IGNORED, []
            return ROLE, []
        at = message.at
        key = message.key
        return "", [
            Interaction(at, "outbound", "email", Handle("email", email), source, key, name)
            for email, name in kept
        ]
    sender = message.sender
    if sender is None:
        return NO_SENDER, []
    bits = verdict(sender.email)
    if bits & _IGNORED:
        return IGNORED, []
    if bits & _ROLE:
        return ROLE, []
    return "", [
        Interaction(
            message.at,
            "inbound",
            "email",
            Handle("email", sender.email),
            source,
            message.key,
            sender.name,
        )
    ]
