"""Deterministic benchmark data generator for the netgarden mail-archive importer.

Writes a realistic Google Takeout mbox of N messages (about 3.4 KB per message on
average) to a file, in chunks of a few MB, so memory use stays flat no matter how
large N is. A million messages take a couple of minutes: every message is built
with string formatting from pools prepared once (no ``email`` package).

Each message imitates what ``Mail/All mail Including Spam and Trash.mbox`` of a
Takeout export contains:

* the separator line ``From 1790123456789012345@xxx Mon Mar 04 11:20:34 +0000 2024``
  (a Gmail message id, the instant of the Date header in UTC);
* ``X-GM-THRID`` (replies share their thread's id), ``X-Gmail-Labels``
  (``Inbox,Important,Opened``, ``Sent``, ``Archived``, ``Category Promotions``,
  sometimes ``Spam`` or ``Trash``);
* 2-4 ``Received:`` headers, each folded over two lines;
* ``MIME-Version``, ``Date`` (RFC 2822, in the sender's zone), ``From``, ``To``
  (1-5 recipients, folded when long), ``Cc`` on ~15% of the personal ones, ``Message-ID``
  (``<...@mail.gmail.com>``), ``Subject`` (``Re:`` for replies, which also carry
  ``In-Reply-To`` and ``References``), ``Content-Type: text/plain; charset="UTF-8"``;
* ``List-Id`` and ``List-Unsubscribe`` on the ~10% that are newsletters;
* a 1-4 KB plain-text body. About 2% of the bodies hold a line starting with
  ``>From `` (quoted as mboxo writers do); no body line starts with ``From ``.

The user is ``me@example.com`` (alias ``me@work.example``): ~30% of the messages
are sent by the user (label ``Sent``), the rest are received, with the user among
the recipients. Counterparts come from a pool of 20,000 people, some written to far
more often than others, so addresses repeat as in a real mailbox. Display names
are mostly plain ``First Last <first.last@domain>``; ~10% are RFC 2047 encoded
(``=?UTF-8?Q?...?=``, ``=?UTF-8?B?...?=``, ``=?ISO-8859-1?Q?...?=``), some are
quoted ``"Last, First" <addr>``, some addresses are bare. Every person and domain
(``example.com``, ``example.org``, ``*.test``, ``*.example``) is fictional; IP
addresses are private or from the documentation ranges.

Lines end in ``\\n``; a blank line follows every message. Output depends only on N
and the seed: the same arguments give byte-identical files, and the first K
messages of a larger file equal a file of K messages.

Usage::

    python bench/gen_mbox.py 1000000 /tmp/takeout.mbox --seed 7

or from Python::

    from bench.gen_mbox import generate
    generate(pathlib.Path("takeout.mbox"), 1000, seed=7)
"""

from __future__ import annotations

import argparse
import base64
import bisect
import itertools
import pathlib
import random
import sys
import time
import unicodedata
from collections.abc import Sequence

ME = "me@example.com"
ME_ALIAS = "me@work.example"
ME_NAME = "Sam Rivera"
POOL_SIZE = 20_000  # counterparts
SENT_RATIO = 0.30
NEWSLETTER_RATIO = 0.10  # of all messages
REPLY_RATIO = 0.35  # of personal messages: a reply in a recent thread
CC_RATIO = 0.15
FROM_LINE_RATIO = 0.02  # bodies with a ">From " line
ACCENTED_RATIO = 0.10  # bodies with a non-ASCII sentence
CHUNK_MESSAGES = 1000  # messages joined into one write
BODY_BYTES = (1000, 3600)  # paragraph bytes of a body; greeting and quotes come on top
THREADS = 256  # recent threads a reply may continue
START = 1388534400  # 2014-01-01 UTC
SPAN = 11 * 365 * 86400  # up to the end of 2024

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# --------------------------------------------------------------------------- names


def _words(spec: str) -> tuple[str, ...]:
    return tuple(spec.split())


GIVEN = _words(
    "James Mary Olivia Liam Emma Noah Ava Ethan Sophia Mason Harper Lucas Madison Caleb "
    "Abigail Wyatt Chloe Owen Grace Dylan Oliver Amelia George Isla Harry Poppy Alfie Freya "
    "Archie Imogen Rhys Callum Niamh Lena Lukas Anna Lisa Matthias Priya Arjun Rohan Ananya "
    "Vikram Kavya Sanjay Deepika Wei Fang Jing Minjun Seoyeon Kenji Yumi Daniel Sarah David "
    "Laura Michael Julia Thomas Nina Peter Clara Mark Helen Paul Irene Robert Alice Steven "
    "Rachel Kevin Megan Brian Tara Adam Ruth Victor Diana"
)
FAMILY = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Walker Hall Young Allen King Scott "
    "Baker Carter Mitchell Turner Taylor Evans Thomas Roberts Wright Hughes Edwards Wood Clarke "
    "Fletcher Pennington Ashworth Hoffmann Fuchs Wagner Schulze Sharma Patel Iyer Reddy Nair "
    "Gupta Krishnan Wang Li Zhang Chen Kim Park Lee Tanaka Sato Suzuki Moreau Dubois Girard "
    "Fontaine Chevalier Rossi Bianchi Romano Ricci Novak Horvat Jensen Hansen Larsen Berg "
    "Lindberg Murphy Kelly Byrne Walsh Ryan Cohen Levy Silva Santos Costa Ferreira"
)

# (given names, family names, family name first): names that need RFC 2047 encoding.
# "native|roman" gives the romanisation used for the e-mail address.
ACCENTED: tuple[tuple[str, str, bool], ...] = (
    (
        "José María Íñigo Lucía Andrés Begoña Sofía Raúl Ramón Inés Jesús Ángela",
        "Martínez Muñoz Núñez García Pérez Gómez Fernández Sánchez Rodríguez Ibáñez Peña",
        False,
    ),
    (
        "Jürgen Jörg Günter Sören Käthe Björn Hannelore Jürgen-Peter",
        "Müller Schäfer Köhler Weiß Groß Schröder Krüger Böhm Meißner Jäger",
        False,
    ),
    (
        "François Hélène Zoé Émile Chloé Jérôme Léa Noël Gaël Amélie Anaïs Benoît Céline",
        "Lefèvre Dupré Bérenger Rivière Ménard Lemaître Gauthier",
        False,
    ),
    ("Søren Åsa Bjørn Øystein Märta Kåre Sølvi Åke", "Ødegård Åberg Sørensen Håkansson", False),
    (
        "Łukasz Małgorzata Paweł Jiří Kateřina Tomáš Wojciech Bożena",
        "Wójcik Dvořák Wiśniewski Zieliński Dąbrowski Kołodziej Černý",
        False,
    ),
    ("Şule Çağrı Gökhan Ayşe Ümit Oğuz Barış", "Çelik Yılmaz Öztürk Şahin Doğan Kılıç", False),
    ("Minh Thảo Hương Đức Tuấn", "Nguyễn Trần Phạm Hoàng Đặng", True),
    ("太郎|Taro 花子|Hanako 健一|Kenichi 由美|Yumi", "山田|Yamada 佐藤|Sato 鈴木|Suzuki", True),
    ("Γιώργος|Giorgos Νίκος|Nikos Μαρία|Maria", "Οικονόμου|Oikonomou Γεωργίου|Georgiou", False),
    ("Дмитрий|Dmitry Ольга|Olga Сергей|Sergey", "Иванов|Ivanov Смирнов|Smirnov", False),
)

DOMAINS = (
    "contoso.test",
    "fabrikam.test",
    "northwind.test",
    "tailspintoys.test",
    "wideworldimporters.test",
    "adventure-works.test",
    "woodgrovebank.test",
    "litware.test",
    "proseware.test",
    "alpineskihouse.test",
    "globex.test",
    "initech.test",
    "mueller-soehne.test",
    "exemple-conseil.test",
    "example.org",
    "example.net",
    "mail.test",
    "post.test",
    "inbox.test",
    "webmail.test",
    "uni.example",
    "consulting.example",
)

_TRANSLIT = str.maketrans({"ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ß": "ss", "đ": "d", "Đ": "D"})
_TRANSLIT.update({ord("ı"): "i", ord("'"): None})


def _ascii(text: str) -> str:
    """Transliterate Latin-script text to plain ASCII (for e-mail addresses)."""
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return text.encode("ascii", "ignore").decode("ascii")


def _pairs(spec: str) -> list[tuple[str, str]]:
    """Parse ``"Native|Roman Other ..."`` into (native, romanised) pairs."""
    out = []
    for item in spec.split():
        native, _, roman = item.partition("|")
        out.append((native, roman or _ascii(native)))
    return out


_ACCENTED = [(_pairs(given), _pairs(family), first) for given, family, first in ACCENTED]


# ------------------------------------------------------------------------ encoding


def _q_word(text: str, charset: str) -> str:
    """An RFC 2047 Q-encoded word (letters and digits literal, space as ``_``)."""
    out = []
    for byte in text.encode(charset):
        if byte == 32:
            out.append("_")
        elif 48 <= byte <= 57 or 65 <= byte <= 90 or 97 <= byte <= 122:
            out.append(chr(byte))
        else:
            out.append(f"={byte:02X}")
    return f"=?{charset.upper()}?Q?{''.join(out)}?="


def _b_word(text: str) -> str:
    """An RFC 2047 B-encoded UTF-8 word."""
    return f"=?UTF-8?B?{base64.b64encode(text.encode('utf-8')).decode('ascii')}?="


def _encoded(rng: random.Random, name: str) -> str:
    """``name`` as one encoded word: ISO-8859-1 Q when it fits and is picked, else UTF-8 Q or B."""
    try:
        name.encode("iso-8859-1")
        latin1 = True
    except UnicodeEncodeError:
        latin1 = False
    pick = rng.random()
    if latin1 and pick < 0.3:
        return _q_word(name, "iso-8859-1")
    if pick < 0.65 and all(ord(c) < 0x250 for c in name):  # Q for Latin scripts only
        return _q_word(name, "utf-8")
    return _b_word(name)


# -------------------------------------------------------------------------- people


def _people(rng: random.Random, size: int) -> list[tuple[str, str]]:
    """``size`` (header form, first name) pairs with distinct addresses.

    Forms: ~10% RFC 2047 encoded names, ~6% quoted ``"Last, First"``, ~3% other quoted
    names, ~8% bare addresses, the rest ``First Last <address>``.
    """
    seen = {ME, ME_ALIAS}
    people = []
    for _ in range(size):
        form = rng.random()
        if form < 0.085:
            given_pairs, family_pairs, family_first = rng.choice(_ACCENTED)
            (given, given_ascii), (family, family_ascii) = (
                rng.choice(given_pairs),
                rng.choice(family_pairs),
            )
            display = f"{family} {given}" if family_first else f"{given} {family}"
        else:
            given = given_ascii = rng.choice(GIVEN)
            family = family_ascii = rng.choice(FAMILY)
            display = f"{given} {family}"
        first = given_ascii.lower().replace(" ", "").replace("-", "")
        last = family_ascii.lower().replace(" ", "").replace("-", "")
        local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}_{last}", first))
        domain = rng.choice(DOMAINS)
        address = f"{local}@{domain}"
        while address in seen:
            address = f"{local}{rng.randrange(2, 1000)}@{domain}"
        seen.add(address)
        if form < 0.085:
            header = f"{_encoded(rng, display)} <{address}>"
        elif form < 0.10:  # plain ASCII names that a mail client encoded anyway
            word = _b_word(display) if form < 0.093 else _q_word(display, "utf-8")
            header = f"{word} <{address}>"
        elif form < 0.16:
            header = f'"{family}, {given}" <{address}>'
        elif form < 0.19:
            header = f'"{display}" <{address}>'
        elif form < 0.27:
            header = address
        else:
            header = f"{display} <{address}>"
        people.append((header, given))
    return people


# (display name, sender address, list id) of fictional newsletters.
NEWSLETTERS = tuple(
    (f"{name} {kind}", f"{box}@{sub}.{domain}", f"{kind.lower()}.{sub}.{domain}")
    for domain, name in (
        ("contoso.test", "Contoso"),
        ("fabrikam.test", "Fabrikam"),
        ("northwind.test", "Northwind"),
        ("tailspintoys.test", "Tailspin Toys"),
        ("alpineskihouse.test", "Alpine Ski House"),
        ("globex.test", "Globex"),
        ("lists.example", "Python Meetup"),
        ("news.example", "Morning Brief"),
    )
    for kind, box, sub in (
        ("Weekly", "newsletter", "news"),
        ("Offers", "offers", "mail"),
        ("Digest", "noreply", "lists"),
    )
)

# ------------------------------------------------------------------------- content

SUBJECTS = (
    "Meeting on {day}",
    "Q{q} proposal",
    "Invoice {n}",
    "Lunch next week?",
    "Slides from {day}'s workshop",
    "Contract draft v{q}",
    "Quick question about the {topic}",
    "Follow-up: {topic}",
    "Your order #{n}",
    "Intro: {topic} team",
    "Travel plans for {month}",
    "Budget {year}",
    "Notes from the call",
    "Re-scheduling our {day} sync",
    "Feedback on the {topic} draft",
    "Offsite in {month}",
    "Welcome aboard!",
    "Reference letter",
    "Photos from the weekend",
    "Happy birthday!",
)
ENCODED_SUBJECTS = (
    "Café next {day}?",
    "Grüße aus München",
    "Réunion de lundi – ordre du jour",
    "Präsentation {year} – final",
    "Reunión en {month}",
    "Smörgåsbord at the offsite",
    "Zoë's farewell party 🎉",
)
TOPICS = (
    "roadmap",
    "renewal",
    "migration",
    "hiring",
    "pricing",
    "supply-chain",
    "launch",
    "audit",
    "onboarding",
    "website",
)
NEWSLETTER_SUBJECTS = (
    "This week: {topic} news and more",
    "Last chance: {n}% off everything",
    "Your {month} digest",
    "{n} new posts in {topic}",
    "Don't miss our {month} event",
)
FRAGMENTS = (
    "thanks for sending the slides over",
    "I had a look at the numbers and they seem fine to me",
    "could we move the call to Thursday afternoon",
    "the contract still needs a signature from legal",
    "let me know if anything is unclear",
    "we should aim to finish the first draft by the end of the month",
    "I attached the minutes of yesterday's meeting",
    "the budget for next year is not final yet",
    "please keep me in the loop",
    "our team in Berlin will take over the testing",
    "the customer asked for a second quote",
    "I am out of the office until Monday",
    "happy to jump on a call if that helps",
    "the invoice was paid last week",
    "we moved the launch to the second week of May",
    "I forwarded your question to the right person",
    "the new version fixes the login problem",
    "can you send me the latest figures",
    "parking is at the back of the building",
    "the train was late again, sorry for the delay",
    "I think we agree on the main points",
    "dinner is at seven, the table is booked",
    "the report is almost done, two sections to go",
    "she will present the results at the conference",
    "the price includes shipping and handling",
    "we need your feedback before Friday",
    "I added a few comments in the document",
)
# ~1 message in 10 has a paragraph with one of these (it gets "Content-Transfer-Encoding: 8bit")
ACCENTED_FRAGMENTS = (
    "the café on the corner opens at eight",
    "Grüße an das ganze Team",
    "à bientôt et merci encore",
    "the Zürich office sends its regards",
    "see you in Kraków — finally",
)
FROM_LINES = (
    ">From the minutes of last week: the budget is approved.",
    ">From what I remember, the deadline was the end of March.",
    ">From our side everything is ready for the launch.",
    ">From Monday on, the office opens at eight.",
)
GREETINGS = ("Hi {name},", "Hello {name},", "Dear {name},", "Hey {name}!", "{name},", "Hi all,")
SIGNOFFS = ("Best,", "Thanks,", "Cheers,", "Kind regards,", "Best regards,", "Thanks a lot,")


def _paragraphs(rng: random.Random, count: int, accented: bool) -> list[tuple[str, str]]:
    """A pool of (paragraph, quoted paragraph): 1-5 sentences wrapped at 72 columns.

    With ``accented``, every paragraph holds a non-ASCII sentence.
    """
    out = []
    for _ in range(count):
        picked = rng.sample(FRAGMENTS, rng.randint(1, 5))
        if accented:
            picked[rng.randrange(len(picked))] = rng.choice(ACCENTED_FRAGMENTS)
        text = ". ".join(f[0].upper() + f[1:] for f in picked) + rng.choice("....!")
        lines, line = [], ""
        for word in text.split():
            if line and len(line) + len(word) >= 72:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
        assert not any(line.startswith("From ") for line in lines)
        out.append(("\n".join(lines), "\n".join("> " + line for line in lines)))
    return out


def _subject(rng: random.Random, templates: Sequence[str]) -> str:
    return rng.choice(templates).format(
        day=rng.choice(DAYS[:5]),
        q=rng.randint(1, 4),
        n=rng.randrange(10, 99999),
        topic=rng.choice(TOPICS),
        month=rng.choice(MONTHS),
        year=rng.randint(2014, 2025),
    )


# (offset seconds, "+hhmm", weight) of the Date header's zone
ZONES = (
    (0, "+0000", 12),
    (3600, "+0100", 20),
    (7200, "+0200", 12),
    (-18000, "-0500", 15),
    (-14400, "-0400", 8),
    (-28800, "-0800", 8),
    (-25200, "-0700", 6),
    (19800, "+0530", 6),
    (28800, "+0800", 4),
    (32400, "+0900", 4),
    (36000, "+1000", 3),
    (-10800, "-0300", 2),
)
_ZONE_WEIGHTS = [z[2] for z in ZONES]

SENT_LABELS = ("Sent", "Sent", "Sent", "Sent,Important", "Important,Sent,Opened")
RECEIVED_LABELS = (
    ("Inbox,Important,Opened", 18),
    ("Inbox,Opened,Category Personal", 18),
    ("Archived,Opened", 16),
    ("Archived,Important,Opened,Category Personal", 10),
    ("Inbox,Unread,Category Updates", 8),
    ("Opened,Category Forums", 5),
    ("Archived,Opened,Work", 6),
    ("Inbox,Starred,Important,Opened", 3),
    ("Inbox,Unread", 6),
    ("Trash,Opened", 3),
    ("Spam", 2),
)
NEWSLETTER_LABELS = (
    ("Inbox,Category Promotions,Unread", 30),
    ("Opened,Category Promotions", 25),
    ("Archived,Category Updates,Opened", 20),
    ("Trash,Category Promotions", 10),
    ("Spam", 5),
    ("Inbox,Category Updates,Unread", 10),
)


def _fold_list(name: str, items: Sequence[str]) -> str:
    """An address header, folded before an address that would pass column 78."""
    line = f"{name}: {items[0]}"
    out = []
    for item in items[1:]:
        if len(line) + len(item) > 76:
            out.append(line + ",\n")
            line = " " + item
        else:
            line = f"{line}, {item}"
    out.append(line + "\n")
    return "".join(out)


# ------------------------------------------------------------------------ messages


class _Writer:
    """Builds messages from the pools; one instance per file, fed by one seeded Random."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.people = _people(rng, POOL_SIZE)
        self.paragraphs = _paragraphs(rng, 3000, accented=False)
        self.accented = _paragraphs(rng, 100, accented=True)
        self.subjects = [_subject(rng, SUBJECTS) for _ in range(600)]
        self.encoded_subjects = [
            _q_word(s, "utf-8") if rng.random() < 0.6 else _b_word(s)
            for s in (_subject(rng, ENCODED_SUBJECTS) for _ in range(60))
        ]
        self.news_subjects = [_subject(rng, NEWSLETTER_SUBJECTS) for _ in range(200)]
        # recent threads: [thread id, subject, counterpart index, last Message-ID]
        self.threads: list[list[object]] = []
        self.slot = 0
        labels, weights = zip(*RECEIVED_LABELS, strict=True)
        self.received_labels, self.received_weights = labels, list(weights)
        labels, weights = zip(*NEWSLETTER_LABELS, strict=True)
        self.news_labels, self.news_weights = labels, list(weights)
        average = sum(len(p[0]) + 2 for p in self.paragraphs) / len(self.paragraphs)
        self.paragraph_bytes = average

    def person(self) -> int:
        """A counterpart index, the first ones far more often (a few frequent correspondents)."""
        return int(POOL_SIZE * self.rng.random() ** 2.5)

    def message_id(self) -> str:
        raw = self.rng.getrandbits(264).to_bytes(33, "big")
        return f"<CA{base64.b64encode(raw, b'+-').decode('ascii')}@mail.gmail.com>"

    def received(self, ts: int, sent: bool, sender_domain: str) -> str:
        """2-4 Received headers (newest first), each folded over two lines."""
        rng = self.rng
        tm = time.gmtime(ts - 28800)
        zone = "-0700 (PDT)" if 3 < tm.tm_mon < 11 else "-0800 (PST)"  # near enough
        if zone[2] == "7":
            tm = time.gmtime(ts - 25200)
        stamp = (
            f"{DAYS[tm.tm_wday]}, {tm.tm_mday:02d} {MONTHS[tm.tm_mon - 1]} {tm.tm_year} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} {zone}"
        )
        bits = rng.getrandbits(64)
        out = [
            f"Received: by 2002:a05:{bits & 0xFFFF:x}:{bits >> 16 & 0xFFFF:x}:b0:"
            f"{bits >> 32 & 0xFFF:x}:{bits >> 44 & 0xFFFF:x}:{bits >> 60:x}0 with SMTP id "
            f"{rng.getrandbits(40):x}csp{rng.randrange(10**6, 10**7)}pxb;\n        {stamp}\n"
        ]
        hops = 1 if sent else rng.choice((1, 2, 2, 3))
        if sent and rng.random() < 0.5:
            hops = 2
        for hop in range(hops):
            ip = f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randrange(1, 255)}"
            if sent:
                host = f"mail-{rng.choice(('wr1', 'ej1', 'lf1', 'pl1'))}-f{rng.randrange(10, 99)}"
                out.append(
                    f"Received: from [{ip}] ({ip}.dynamic.isp.example. [{ip}])\n"
                    f"        by smtp.gmail.com with ESMTPSA id {host}.{bits >> 32:x}; {stamp}\n"
                )
            elif hop == 0:
                out.append(
                    f"Received: from mail.{sender_domain} (mail.{sender_domain}. [{ip}])\n"
                    f"        by mx.google.com with ESMTPS id {rng.getrandbits(24):06x}si"
                    f"{rng.randrange(10**5, 10**6)}; {stamp}\n"
                )
            else:
                out.append(
                    f"Received: from [10.{hop}.{rng.randrange(256)}.{rng.randrange(1, 255)}]"
                    f" (host.{sender_domain}. [{ip}])\n"
                    f"        by mail.{sender_domain} with ESMTPSA id "
                    f"{rng.getrandbits(32):08x}; {stamp}\n"
                )
        return "".join(out)

    def body(self, greet: str, signer: str, quoted: str | None = None) -> str:
        """1-4 KB: a greeting, paragraphs, a sign-off; under it the quoted message replied to."""
        rng = self.rng
        target = rng.randint(*BODY_BYTES)
        chosen = rng.choices(self.paragraphs, k=int(target / self.paragraph_bytes) + 8)
        sizes = list(itertools.accumulate(len(p[0]) + 2 for p in chosen))
        count = min(len(chosen), 1 + bisect.bisect_left(sizes, target))
        del chosen[count:]
        if rng.random() < ACCENTED_RATIO:
            chosen[rng.randrange(count)] = rng.choice(self.accented)
        own = count if quoted is None else max(1, count // 3)
        parts = [rng.choice(GREETINGS).format(name=greet)]
        parts.extend(p[0] for p in chosen[:own])
        parts.append(f"{rng.choice(SIGNOFFS)}\n{signer}")
        if quoted is not None:
            parts.append(quoted)
            parts.extend(p[1] for p in chosen[own:])
        if rng.random() < FROM_LINE_RATIO:
            parts.insert(rng.randint(1, len(parts)), rng.choice(FROM_LINES))
        return "\n\n".join(parts) + "\n"

    def message(self) -> str:
        rng = self.rng
        people = self.people
        ts = START + rng.randrange(SPAN)
        offset, zone, _ = rng.choices(ZONES, _ZONE_WEIGHTS)[0]
        msg_id = ((ts * 1000 + rng.randrange(1000)) << 20) | rng.getrandbits(20)
        message_id = self.message_id()
        kind = rng.random()
        extra = ""
        if kind < NEWSLETTER_RATIO:
            name, sender, list_id = rng.choice(NEWSLETTERS)
            token = f"{rng.getrandbits(48):012x}"
            domain = sender.partition("@")[2]
            thread = msg_id
            labels = rng.choices(self.news_labels, self.news_weights)[0]
            from_ = f'"{name}" <{sender}>'
            to = _fold_list("To", [ME])
            subject = rng.choice(self.news_subjects)
            extra = (
                f"List-Id: {name} <{list_id}>\n"
                f"List-Unsubscribe: <mailto:unsubscribe-{token}@{domain}>,\n"
                f" <https://{domain}/unsubscribe/{token}>\n"
                "List-Unsubscribe-Post: List-Unsubscribe=One-Click\n"
            )
            body = self.body("there", f"The {name} team")
            sent = False
        else:
            sent = kind < NEWSLETTER_RATIO + SENT_RATIO
            threads = self.threads
            if threads and rng.random() < REPLY_RATIO:
                entry = threads[rng.randrange(len(threads))]
                thread, subject, other, parent = entry
                assert isinstance(thread, int) and isinstance(other, int)
                subject = f"Re: {subject}"
                extra = f"In-Reply-To: {parent}\nReferences: {parent}\n"
                replying = True
                entry[3] = message_id
            else:
                replying = False
                thread = msg_id
                other = self.person()
                subject = (
                    rng.choice(self.encoded_subjects)
                    if rng.random() < 0.04
                    else rng.choice(self.subjects)
                )
                entry = [thread, subject, other, message_id]
                if len(threads) < THREADS:
                    threads.append(entry)
                else:
                    threads[self.slot] = entry
                    self.slot = (self.slot + 1) % THREADS
            count = rng.choices((1, 2, 3, 4, 5), (60, 20, 10, 6, 4))[0]
            others = [people[other][0]] + [people[self.person()][0] for _ in range(count - 1)]
            me = ME_ALIAS if rng.random() < 0.2 else ME
            me_header = f"{ME_NAME} <{me}>" if rng.random() < 0.7 else me
            if sent:
                labels = rng.choice(SENT_LABELS)
                from_ = me_header
                recipients = others
                greet, signer = people[other][1], ME_NAME.split()[0]
                domain = "gmail.com"
            else:
                labels = rng.choices(self.received_labels, self.received_weights)[0]
                from_ = others[0]
                recipients = others[1:]
                recipients.insert(rng.randrange(len(recipients) + 1), me_header)
                greet, signer = ME_NAME.split()[0], people[other][1]
                domain = from_.rpartition("@")[2].rstrip(">")
            to = _fold_list("To", recipients)
            if rng.random() < CC_RATIO:
                cc = [people[self.person()][0] for _ in range(rng.choice((1, 1, 2, 3)))]
                to += _fold_list("Cc", cc)
            quoted = None
            if replying:
                author = signer if sent else greet
                pt = time.gmtime(ts + offset - rng.randrange(600, 4 * 86400))
                if rng.random() < 0.75:
                    quoted = (
                        f"On {DAYS[pt.tm_wday]}, {MONTHS[pt.tm_mon - 1]} {pt.tm_mday}, "
                        f"{pt.tm_year} at {pt.tm_hour:02d}:{pt.tm_min:02d}, {author} wrote:"
                    )
                else:
                    quoted = (
                        f"-----Original Message-----\nFrom: {author}\nSent: "
                        f"{pt.tm_mday:02d}.{pt.tm_mon:02d}.{pt.tm_year} {pt.tm_hour:02d}:"
                        f"{pt.tm_min:02d}\nSubject: {subject[4:]}"
                    )
            body = self.body(greet, signer, quoted)
        tm = time.gmtime(ts)
        separator = (
            f"From {msg_id}@xxx {DAYS[tm.tm_wday]} {MONTHS[tm.tm_mon - 1]} {tm.tm_mday:02d} "
            f"{tm.tm_hour:02d}:{tm.tm_min:02d}:{tm.tm_sec:02d} +0000 {tm.tm_year}\n"
        )
        lt = time.gmtime(ts + offset)
        day = f"{lt.tm_mday:02d}" if rng.random() < 0.7 else str(lt.tm_mday)
        date = (
            f"{DAYS[lt.tm_wday]}, {day} {MONTHS[lt.tm_mon - 1]} {lt.tm_year} "
            f"{lt.tm_hour:02d}:{lt.tm_min:02d}:{lt.tm_sec:02d} {zone}"
        )
        cte = "" if body.isascii() else "Content-Transfer-Encoding: 8bit\n"
        return (
            f"{separator}X-GM-THRID: {thread}\nX-Gmail-Labels: {labels}\n"
            f"{self.received(ts + 1, sent, domain)}"
            f"MIME-Version: 1.0\nDate: {date}\nFrom: {from_}\n{to}"
            f"Message-ID: {message_id}\nSubject: {subject}\n{extra}"
            f'Content-Type: text/plain; charset="UTF-8"\n{cte}\n{body}\n'
        )


# ------------------------------------------------------------------------------ API


def generate(path: pathlib.Path, messages: int, seed: int = 7) -> int:
    """Write ``messages`` messages to ``path`` and return the number of bytes written.

    Messages are built in memory a thousand at a time and written as one chunk, so memory
    use does not grow with ``messages``. The output is a pure function of
    ``(messages, seed)``.
    """
    if messages < 0:
        raise ValueError(f"messages must be >= 0, got {messages}")
    writer = _Writer(random.Random(seed))
    written = 0
    with open(pathlib.Path(path), "wb") as fh:
        for start in range(0, messages, CHUNK_MESSAGES):
            count = min(CHUNK_MESSAGES, messages - start)
            chunk = "".join([writer.message() for _ in range(count)]).encode("utf-8")
            fh.write(chunk)
            written += len(chunk)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Generate a deterministic, realistic Google Takeout mbox for benchmarks.",
    )
    parser.add_argument("n", type=int, metavar="N", help="number of messages to generate")
    parser.add_argument("out", type=pathlib.Path, metavar="OUT.mbox", help="output file")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("N must be >= 0")
    start = time.perf_counter()
    size = generate(args.out, args.n, seed=args.seed)
    elapsed = time.perf_counter() - start
    avg = size / args.n if args.n else 0.0
    print(
        f"wrote {args.n} messages, {size} bytes ({avg:.0f} B/message) to {args.out} "
        f"in {elapsed:.2f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
