"""Deterministic benchmark data generator for the netgarden vCard importer.

Writes a realistic address book of N vCards (about 1 KB per card on average)
to a file, card by card, so memory use stays flat no matter how large N is.

The mix imitates what real exports contain:

* ~90% vCard 3.0 cards (UID, FN, N, ORG, TITLE, 1-3 EMAIL, 1-3 TEL in varied
  national and international formats, ADR with escaped commas, CATEGORIES,
  a 100-400 character NOTE with commas and ``\\n`` escapes, and on ~5% of the
  cards a 2-6 KB base64 JPEG PHOTO);
* ~10% vCard 2.1 cards with ``CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE`` names
  and notes, soft line breaks, ``TEL;CELL;PREF`` and ``EMAIL;INTERNET``.

Names come from several cultures and scripts (UTF-8). Every person, company,
domain (``example.com``, ``example.org``, ``*.test``) and phone number
(reserved "drama" ranges where they exist) is fictional.

Lines end in CRLF. vCard 3.0 lines are folded at 75 octets (RFC 6350 section
3.2) without splitting UTF-8 sequences; quoted-printable lines use soft
breaks so that no encoded line exceeds 76 characters (RFC 2045 section 6.7).

Output depends only on N and the seed: the same arguments give byte-identical
files, and the first K cards of a larger file equal a file of K cards.

Usage::

    python bench/gen_vcards.py 100000 /tmp/contacts.vcf --seed 1

or from Python::

    from bench.gen_vcards import generate
    generate(1000, pathlib.Path("contacts.vcf"), seed=1)
"""

from __future__ import annotations

import argparse
import base64
import pathlib
import random
import sys
import time
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CRLF = b"\r\n"
FOLD_LIMIT = 75  # octets per physical line (RFC 6350 section 3.2)
QP_LIMIT = 76  # characters per quoted-printable line (RFC 2045 section 6.7)
V21_RATIO = 0.10
PHOTO_RATIO = 0.05
QP_PARAMS = "CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE"


# --------------------------------------------------------------------------- names

_TRANSLIT = str.maketrans(
    {
        "ø": "o",
        "Ø": "O",
        "ł": "l",
        "Ł": "L",
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "đ": "d",
        "Đ": "D",
        "ı": "i",
        "œ": "oe",
        "'": "",
        "’": "",
    }
)


def _ascii(text: str) -> str:
    """Transliterate Latin-script text to plain ASCII (for e-mail addresses)."""
    text = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return text.encode("ascii", "ignore").decode("ascii")


def _names(spec: str) -> tuple[tuple[str, str], ...]:
    """Parse ``"Native|Roman Other ..."`` into (native, romanised) pairs."""
    out = []
    for item in spec.split():
        native, _, roman = item.partition("|")
        native = native.replace("_", " ")
        out.append((native, roman.replace("_", " ") if roman else _ascii(native)))
    return tuple(out)


@dataclass(frozen=True)
class Culture:
    """A naming tradition: name pools, name order and likely home countries."""

    key: str
    weight: int
    given: tuple[tuple[str, str], ...]
    family: tuple[tuple[str, str], ...]
    countries: tuple[str, ...]
    family_first: bool = False
    sep: str = " "
    accented: bool = False  # suitable for vCard 2.1 QP-encoded names


CULTURES: tuple[Culture, ...] = (
    Culture(
        "en_US",
        26,
        _names(
            "James Mary Olivia Liam Emma Noah Ava Ethan Sophia Mason Harper "
            "Lucas Madison Caleb Abigail Wyatt Chloe Owen Grace Dylan"
        ),
        _names(
            "Smith Johnson Williams Brown Jones Garcia Miller Davis Walker "
            "Hall Young Allen King Scott Baker Carter Mitchell Turner"
        ),
        ("US", "US", "US", "UK", "AU"),
    ),
    Culture(
        "en_GB",
        10,
        _names(
            "Oliver Amelia George Isla Harry Poppy Alfie Freya Archie Imogen "
            "Rhys Siobhan Callum Niamh"
        ),
        _names(
            "Taylor Evans Thomas Roberts Wright Hughes Edwards Wood Clarke "
            "O'Connor Fletcher Pennington Ashworth"
        ),
        ("UK", "UK", "UK", "AU", "US"),
    ),
    Culture(
        "de",
        12,
        _names(
            "Jürgen Jörg Günter Lena Lukas Sören Käthe Björn Anna Maximilian "
            "Hannelore Ute Matthias Jürgen-Peter Lisa-Marie"
        ),
        _names(
            "Müller Schäfer Köhler Weiß Groß Schröder Krüger Hoffmann Fuchs "
            "Böhm Meißner Jäger Schulze Wagner"
        ),
        ("DE", "DE", "DE", "US", "UK"),
        accented=True,
    ),
    Culture(
        "fr",
        9,
        _names(
            "François Hélène Zoé Émile Chloé Jérôme Léa Noël Gaël Amélie "
            "Anaïs Benoît Céline Jean-Noël Marie-Thérèse"
        ),
        _names(
            "Lefèvre Dubois Moreau Girard Lemaître Fontaine Chevalier Dupré "
            "Bérenger Gauthier Rivière Lacroix Ménard"
        ),
        ("FR", "FR", "FR", "US", "UK"),
        accented=True,
    ),
    Culture(
        "es",
        8,
        _names(
            "José María Íñigo Lucía Andrés Begoña Sofía Raúl Ramón Inés "
            "Jesús Ángela Martín María_José|Maria_Jose"
        ),
        _names(
            "Muñoz Núñez García Pérez Ibáñez Gómez Martínez Fernández Peña "
            "Sánchez Ortíz Rodríguez Cañete"
        ),
        ("US", "UK", "FR", "DE"),
        accented=True,
    ),
    Culture(
        "nordic",
        6,
        _names("Søren Åsa Bjørn Øystein Märta Ingrid Kåre Sigrún Jón Þóra|Thora Mikael Åke Sølvi"),
        _names(
            "Ødegård Åberg Sørensen Lindqvist Ström Håkansson Jónsdóttir "
            "Nyström Bækgaard Østergaard"
        ),
        ("DE", "UK", "US"),
        accented=True,
    ),
    Culture(
        "central_eu",
        6,
        _names(
            "Łukasz Małgorzata Paweł Zofia Jiří Kateřina Tomáš Agnieszka "
            "Wojciech Zdeněk Bożena Radosław"
        ),
        _names(
            "Wójcik Kowalczyk Dvořák Novák Černý Wiśniewski Zieliński Procházka "
            "Dąbrowski Svobodová Kołodziej"
        ),
        ("DE", "UK", "US"),
        accented=True,
    ),
    Culture(
        "tr",
        4,
        _names("Şule Çağrı Gökhan Ayşe Ümit Oğuz Gülşen İbrahim Özlem Barış"),
        _names("Çelik Yılmaz Öztürk Şahin Doğan Aydın Kılıç Güneş Erdoğdu"),
        ("DE", "UK", "US"),
        accented=True,
    ),
    Culture(
        "vi",
        3,
        _names("Minh Thảo Hương Quốc_Bảo Lan_Anh Đức Tuấn Ngọc_Ánh"),
        _names("Nguyễn Trần Lê Phạm Hoàng Huỳnh Võ Đặng"),
        ("US", "AU", "FR"),
        family_first=True,
        accented=True,
    ),
    Culture(
        "el_m",
        1,
        _names("Γιώργος|Giorgos Νίκος|Nikos Δημήτρης|Dimitris Κώστας|Kostas"),
        _names(
            "Παπαδόπουλος|Papadopoulos Οικονόμου|Oikonomou Γεωργίου|Georgiou "
            "Νικολάου|Nikolaou Αλεξίου|Alexiou"
        ),
        ("DE", "UK", "US"),
        accented=True,
    ),
    Culture(
        "el_f",
        1,
        _names("Μαρία|Maria Ελένη|Eleni Κατερίνα|Katerina Σοφία|Sofia"),
        _names(
            "Παπαδοπούλου|Papadopoulou Οικονόμου|Oikonomou Γεωργίου|Georgiou "
            "Νικολάου|Nikolaou Αλεξίου|Alexiou"
        ),
        ("DE", "UK", "US"),
        accented=True,
    ),
    Culture(
        "ru_m",
        2,
        _names("Дмитрий|Dmitry Сергей|Sergey Алексей|Alexey Юрий|Yuri"),
        _names(
            "Иванов|Ivanov Смирнов|Smirnov Кузнецов|Kuznetsov Попов|Popov "
            "Соколов|Sokolov Лебедев|Lebedev"
        ),
        ("DE", "US", "UK"),
        accented=True,
    ),
    Culture(
        "ru_f",
        1,
        _names("Анна|Anna Ольга|Olga Наталья|Natalya Татьяна|Tatyana"),
        _names(
            "Иванова|Ivanova Смирнова|Smirnova Кузнецова|Kuznetsova Попова|Popova "
            "Соколова|Sokolova Лебедева|Lebedeva"
        ),
        ("DE", "US", "UK"),
        accented=True,
    ),
    Culture(
        "ja",
        3,
        _names("太郎|Taro 花子|Hanako 健一|Kenichi さくら|Sakura 翔太|Shota 由美|Yumi"),
        _names("山田|Yamada 佐藤|Sato 鈴木|Suzuki 高橋|Takahashi 田中|Tanaka 渡辺|Watanabe"),
        ("US", "AU", "UK"),
        family_first=True,
    ),
    Culture(
        "zh",
        3,
        _names("伟|Wei 芳|Fang 秀英|Xiuying 浩然|Haoran 静|Jing 子轩|Zixuan"),
        _names("王|Wang 李|Li 张|Zhang 刘|Liu 陈|Chen 杨|Yang"),
        ("US", "AU", "UK"),
        family_first=True,
        sep="",
    ),
    Culture(
        "ko",
        2,
        _names("민준|Minjun 서연|Seoyeon 지훈|Jihoon 하은|Haeun 도윤|Doyun"),
        _names("김|Kim 이|Lee 박|Park 최|Choi 정|Jung"),
        ("US", "AU"),
        family_first=True,
        sep="",
    ),
    Culture(
        "ar",
        2,
        _names("محمد|Mohammed فاطمة|Fatima أحمد|Ahmed ليلى|Layla يوسف|Youssef"),
        _names("الحسن|Al-Hassan حداد|Haddad منصور|Mansour خوري|Khoury"),
        ("UK", "FR", "US"),
    ),
    Culture(
        "in",
        4,
        _names("Priya Arjun Rohan Ananya Vikram Kavya Sanjay Deepika प्रिया|Priya अर्जुन|Arjun"),
        _names("Sharma Patel Iyer Reddy Nair Gupta Krishnan शर्मा|Sharma"),
        ("US", "UK", "AU"),
    ),
)
_CULTURE_WEIGHTS = [c.weight for c in CULTURES]
_ACCENTED = tuple(c for c in CULTURES if c.accented)
_ACCENTED_WEIGHTS = [c.weight for c in _ACCENTED]

PREFIXES = ("Dr.", "Prof.", "Mr.", "Ms.", "Mrs.", "Mx.", "Prof. Dr.")
SUFFIXES = ("Jr.", "Sr.", "III", "PhD", "MBA", "M.D.")


# --------------------------------------------------------------------- organisations

# (company, domain) -- well-known sample/fictional company names only.
COMPANIES: tuple[tuple[str, str], ...] = (
    ("Contoso Ltd.", "contoso.test"),
    ("Fabrikam, Inc.", "fabrikam.test"),
    ("Northwind Traders", "northwind.test"),
    ("Tailspin Toys", "tailspintoys.test"),
    ("Wide World Importers", "wideworldimporters.test"),
    ("Adventure Works Cycles", "adventure-works.test"),
    ("Woodgrove Bank", "woodgrovebank.test"),
    ("Litware, Inc.", "litware.test"),
    ("Proseware, Inc.", "proseware.test"),
    ("Alpine Ski House", "alpineskihouse.test"),
    ("Blue Yonder Airlines", "blueyonderairlines.test"),
    ("Coho Winery", "cohowinery.test"),
    ("Müller & Söhne KG", "mueller-soehne.test"),
    ("Exemple Conseil SARL", "exemple-conseil.test"),
    ("Nordlys Design AS", "nordlys-design.test"),
    ("Ejemplo Logística S.L.", "ejemplo-logistica.test"),
    ("Globex Corporation", "globex.test"),
    ("Initech", "initech.test"),
    ("Vandelay Industries", "vandelay.test"),
    ("Example Widgets, Inc.", "example.com"),
    ("Sample Research Foundation", "example.org"),
)
DEPARTMENTS = (
    "Sales",
    "Engineering",
    "R&D",
    "Finance",
    "Human Resources",
    "Marketing",
    "Legal",
    "Customer Success",
    "Procurement",
    "IT Operations",
    "Forschung & Entwicklung",
    "Direction commerciale",
    "Logística",
    "Research, Design & Strategy",
)
TITLES = (
    "Senior Software Engineer",
    "Account Manager",
    "Head of Procurement",
    "VP, Operations",
    "Directeur commercial",
    "Leiterin Vertrieb",
    "Product Owner",
    "Chief Financial Officer",
    "Office Manager",
    "Data Scientist",
    "Research Associate",
    "Project Manager, EMEA",
    "Ingénieure d'études",
    "Geschäftsführer",
    "Consultant",
    "Jefa de Compras",
    "Technical Writer",
    "Solutions Architect",
    "Intern",
    "Director, Partnerships & Alliances",
    "QA Lead",
    "Recruiter",
)
CATEGORIES = (
    "Work",
    "Clients",
    "Suppliers",
    "Friends",
    "Family",
    "VIP",
    "Conference 2023",
    "Newsletter",
    "Golf Club",
    "Board",
    "Alumni",
    "Neighbours",
    "Kita-Eltern",
    "Book Club",
    "Partners",
    "Press",
)
HOME_DOMAINS = (
    "example.org",
    "example.com",
    "mail.test",
    "post.test",
    "inbox.test",
    "webmail.test",
)

NOTE_FRAGMENTS = (
    "met at the regional trade fair in spring",
    "prefers e-mail over phone",
    "follow up about the Q3 proposal",
    "allergic to peanuts, remember for the team dinner",
    "do not call before 9 am; usually in meetings until noon",
    "shared the slides, waiting for feedback",
    "has two kids, likes sailing, hiking and board games",
    "introduced by a former colleague from the Berlin office",
    "invoice address differs from the shipping address",
    "speaks German, French and some Spanish",
    "key contact for the renewal, budget owner",
    "ask about the new office opening",
    "prefers video calls; phone often off on weekends",
    "Café meeting went well, send the draft contract",
    "Grüße an das ganze Team ausrichten",
    "rendez-vous à Paris le mois prochain",
    "gave a great talk on supply-chain risk",
    "sends a holiday card every year",
    "parking at the back entrance, ring twice",
    "assistant handles the calendar, cc her on invites",
    "owes us the signed NDA",
    "moved from Sales to Engineering last year",
    "vegetarian, no alcohol",
    "keen cyclist, did the alpine tour twice",
    "prefers to be addressed by first name",
    "time zone is UTC+1, answers late in the evening",
    "Reference: ticket #4711, case closed",
    "loves jazz, 70s sci-fi and strong coffee",
)

NOTE_PICK = 16  # the 16 shortest fragments plus separators exceed 400 characters


# ------------------------------------------------------------------ phones, addresses


def _digits(rng: random.Random, template: str) -> str:
    """Replace ``#`` with random digits and ``@`` with random capital letters."""
    count = template.count("#")
    if count:
        digits = f"{rng.randrange(10**count):0{count}d}"
        template = template.replace("#", "{}").format(*digits)
    while "@" in template:
        template = template.replace("@", chr(65 + rng.randrange(26)), 1)
    return template


def _phone_us(rng: random.Random) -> str:
    area = rng.choice(("212", "312", "415", "617", "202", "303", "512", "206"))
    line = f"01{rng.randrange(100):02d}"  # 555-0100..0199 is reserved for fiction
    fmt = rng.randrange(8)
    if fmt == 0:
        return f"+1 {area} 555 {line}"
    if fmt == 1:
        return f"({area}) 555-{line}"
    if fmt == 2:
        return f"{area}-555-{line}"
    if fmt == 3:
        return f"+1-{area}-555-{line}"
    if fmt == 4:
        return f"{area}.555.{line}"
    if fmt == 5:
        return f"+1{area}555{line}"
    if fmt == 6:
        return _digits(rng, "+1 555 010 ####")
    return _digits(rng, "(555) 010-####")


def _phone_uk(rng: random.Random) -> str:
    return _digits(
        rng,
        rng.choice(
            (
                "+44 20 7946 0###",
                "020 7946 0###",
                "+44 (0)20 7946 0###",
                "+44 113 496 0###",
                "0113 496 0###",
                "+441632960###",
                "01632 960###",
                "07700 900###",
                "+44 7700 900###",
            )
        ),
    )


def _phone_de(rng: random.Random) -> str:
    return _digits(
        rng,
        rng.choice(
            (
                "+49 30 901820",
                "+49 30 901820-##",
                "030 901820##",
                "+49 (0)30 901820",
                "030/901820-#",
                "+4930901820##",
                "+49 89 99998-###",
            )
        ),
    )


def _phone_fr(rng: random.Random) -> str:
    return _digits(
        rng,
        rng.choice(
            (
                "+33 1 99 00 ## ##",
                "01 99 00 ## ##",
                "+33 6 39 98 ## ##",
                "06 39 98 ## ##",
                "+33199000###",
                "01.99.00.##.##",
            )
        ),
    )


def _phone_au(rng: random.Random) -> str:
    mobile = rng.choice(("006", "156", "157", "158", "159", "110", "313", "737", "808"))
    return _digits(
        rng,
        rng.choice(
            (
                "+61 2 5550 ####",
                "(02) 5550 ####",
                "+61 3 7010 ####",
                f"0491 570 {mobile}",
                f"+61 491 570 {mobile}",
            )
        ),
    )


PHONES: dict[str, Callable[[random.Random], str]] = {
    "US": _phone_us,
    "UK": _phone_uk,
    "DE": _phone_de,
    "FR": _phone_fr,
    "AU": _phone_au,
}

# country -> (street templates, (city, region, postal template) choices, country name)
ADDRESSES: dict[str, tuple[tuple[str, ...], tuple[tuple[str, str, str], ...], str]] = {
    "US": (
        (
            "{n} Example Avenue, Suite {s}",
            "{n} Main Street",
            "{n} Market Street, Floor {f}",
            "{n} Harbor Blvd, Building {b}, Unit {s}",
            "{n} Oak Lane",
        ),
        (
            ("Springfield", "IL", "627##"),
            ("Riverton", "WY", "825##"),
            ("Fairview", "OR", "970##"),
            ("Madison", "WI", "537##"),
            ("Georgetown", "TX", "786##"),
        ),
        "USA",
    ),
    "UK": (
        (
            "{n} Example Road, Unit {s}",
            "Flat {f}, {n} Baker Lane",
            "{n} High Street",
            "Suite {s}, {n} Canal Wharf",
        ),
        (
            ("London", "", "EC1A #@@"),
            ("Manchester", "Greater Manchester", "M1 #@@"),
            ("Leeds", "West Yorkshire", "LS1 #@@"),
            ("Bristol", "", "BS1 #@@"),
        ),
        "United Kingdom",
    ),
    "DE": (
        (
            "Musterstraße {n}, Aufgang {b}",
            "Hauptstraße {n}",
            "Königsallee {n}, {f}. OG",
            "Schloßplatz {n}",
            "Am Exempelweg {n}, Haus {b}",
        ),
        (
            ("Berlin", "Berlin", "10###"),
            ("München", "Bayern", "80###"),
            ("Köln", "Nordrhein-Westfalen", "50###"),
            ("Düsseldorf", "Nordrhein-Westfalen", "40###"),
        ),
        "Deutschland",
    ),
    "FR": (
        (
            "{n}, rue de l'Exemple",
            "{n} bis, boulevard Saint-Exemple",
            "{n}, avenue des Érables, bâtiment {b}",
            "{n}, place du Marché",
        ),
        (
            ("Paris", "Île-de-France", "750##"),
            ("Lyon", "Auvergne-Rhône-Alpes", "6900#"),
            ("Marseille", "Provence-Alpes-Côte d'Azur", "130##"),
            ("Nantes", "Pays de la Loire", "44###"),
        ),
        "France",
    ),
    "AU": (
        (
            "Level {f}, {n} Example Street",
            "Unit {s}, {n} George Street",
            "{n} Collins Street",
            "Suite {s}, Level {f}, {n} Queen Street",
        ),
        (
            ("Sydney", "NSW", "2000"),
            ("Melbourne", "VIC", "3000"),
            ("Brisbane", "QLD", "4000"),
            ("Perth", "WA", "6000"),
        ),
        "Australia",
    ),
}


# ------------------------------------------------------------------------ encoding


def _fold(line: str) -> bytes:
    """Encode one logical content line as folded UTF-8 physical lines ending in CRLF.

    Physical lines are at most 75 octets; continuation lines start with a single
    space.  A fold never splits a multi-octet UTF-8 sequence.
    """
    data = line.encode("utf-8")
    if len(data) <= FOLD_LIMIT:
        return data + CRLF
    parts = []
    start, limit, size = 0, FOLD_LIMIT, len(data)
    while size - start > limit:
        end = start + limit
        while data[end] & 0xC0 == 0x80:  # do not cut inside a UTF-8 sequence
            end -= 1
        parts.append(data[start:end])
        start, limit = end, FOLD_LIMIT - 1
    parts.append(data[start:])
    return b"\r\n ".join(parts) + CRLF


def _esc(text: str) -> str:
    """Escape a vCard 3.0 TEXT value (backslash, comma, semicolon, newline)."""
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


# One token per octet: printable ASCII except "=" is literal, the rest is =XX.
_QP_TOKENS = tuple(
    chr(b) if (33 <= b <= 126 and b != 61) or b == 32 else f"={b:02X}" for b in range(256)
)


def _qp(head: str, value: str) -> bytes:
    """Emit ``head:value`` with the value quoted-printable encoded (vCard 2.1 style).

    Encoded lines end in a soft break ``=`` and are at most 76 characters long.
    A space is never left at the end of the value or at the start of a
    continuation line (it is written as ``=20`` there).
    """
    data = value.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
    tokens = [_QP_TOKENS[b] for b in data]
    if tokens and tokens[-1] == " ":
        tokens[-1] = "=20"
    lines: list[str] = []
    cur = head + ":"
    last = len(tokens) - 1
    for i, tok in enumerate(tokens):
        room = QP_LIMIT if i == last else QP_LIMIT - 1  # keep a column for "="
        if len(cur) + len(tok) > room:
            lines.append(cur + "=")
            cur = "=20" if tok == " " else tok
        else:
            cur += tok
    lines.append(cur)
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


# -------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Person:
    """One fictional contact."""

    given: str
    family: str
    middle: str
    prefix: str
    suffix: str
    fn: str
    given_ascii: str
    family_ascii: str
    country: str
    company: str
    domain: str
    department: str
    title: str


def _person(rng: random.Random, culture: Culture) -> Person:
    given, given_ascii = rng.choice(culture.given)
    family, family_ascii = rng.choice(culture.family)
    middle = ""
    if not culture.family_first and rng.random() < 0.2:
        other = rng.choice(culture.given)[0]
        middle = f"{other[0]}." if rng.random() < 0.5 else other
        if middle == given:
            middle = ""
    prefix = rng.choice(PREFIXES) if rng.random() < 0.12 else ""
    suffix = rng.choice(SUFFIXES) if rng.random() < 0.05 else ""
    if culture.family_first:
        fn = f"{family}{culture.sep}{given}"
    else:
        fn = " ".join(p for p in (prefix, given, middle, family) if p)
    if suffix:
        fn = f"{fn}, {suffix}"
    company, domain = rng.choice(COMPANIES)
    return Person(
        given=given,
        family=family,
        middle=middle,
        prefix=prefix,
        suffix=suffix,
        fn=fn,
        given_ascii=given_ascii,
        family_ascii=family_ascii,
        country=rng.choice(culture.countries),
        company=company,
        domain=domain,
        department=rng.choice(DEPARTMENTS),
        title=rng.choice(TITLES),
    )


def _emails(rng: random.Random, p: Person) -> list[tuple[str, str]]:
    """1-3 (kind, address) pairs, kind being WORK or HOME.

    Names come from finite pools, so at 100,000 cards many people share a name; a per-person
    number keeps their addresses apart, as distinct people's addresses are in a real address
    book (without it, 38% of the cards would share an address with another card).
    """
    first = p.given_ascii.lower().replace(" ", "").replace("'", "")
    last = p.family_ascii.lower().replace(" ", "").replace("'", "")
    tag = rng.randrange(1, 10**7)
    locals_ = (
        f"{first}.{last}{tag}",
        f"{first[0]}{last}{tag}",
        f"{first}_{last}{tag}",
        f"{last}.{first}{tag}",
        f"{first}{tag}",
        f"{first}.{last}{tag}+news",
    )
    out = []
    kinds = rng.sample(("WORK", "HOME", "HOME"), rng.choice((1, 1, 2, 2, 2, 3)))
    for kind in kinds:
        local = rng.choice(locals_)
        domain = p.domain if kind == "WORK" else rng.choice(HOME_DOMAINS)
        out.append((kind, f"{local}@{domain}"))
    return out


def _phones(rng: random.Random, p: Person, cell_first: bool = False) -> list[tuple[str, str]]:
    """1-3 (kind, number) pairs with CELL, WORK or HOME (CELL first if asked)."""
    kinds = rng.sample(("CELL", "WORK", "HOME"), rng.choice((1, 2, 2, 2, 3)))
    if cell_first:
        kinds = ["CELL", *[k for k in kinds if k != "CELL"][:2]]
    out = []
    for kind in kinds:
        country = p.country if rng.random() < 0.8 else rng.choice(tuple(PHONES))
        number = PHONES[country](rng)
        if kind == "WORK" and rng.random() < 0.15:
            number += rng.choice((" ext. ", " x", " Durchwahl ")) + str(rng.randrange(10, 999))
        out.append((kind, number))
    return out


def _address(rng: random.Random, country: str) -> tuple[str, str, str, str, str, str]:
    """(extended, street, locality, region, postal code, country)."""
    streets, cities, country_name = ADDRESSES[country]
    street = rng.choice(streets).format(
        n=rng.randrange(1, 400),
        s=rng.randrange(100, 999),
        f=rng.randrange(1, 40),
        b=chr(65 + rng.randrange(8)),
    )
    city, region, postal = rng.choice(cities)
    extended = rng.choice(("", "", "", "c/o Reception", "Attn: Accounts Payable"))
    return extended, street, city, region, _digits(rng, postal), country_name


def _note(rng: random.Random, p: Person) -> str:
    """A 100-400 character note with commas, sentences and line breaks."""
    target = rng.randint(100, 400)
    text = rng.choice(
        (
            f"Contact at {p.company}",
            f"{p.title} at {p.company}",
            f"Works in {p.department}",
            "Imported from old phone",
        )
    )
    for frag in rng.sample(NOTE_FRAGMENTS, NOTE_PICK):  # distinct, always enough for 400
        if len(text) >= target:
            break
        sep = rng.choice((", ", ". ", ".\n", ", "))
        if sep != ", ":
            frag = frag[0].upper() + frag[1:]
        text += sep + frag
    if len(text) > 400:
        text = text[:400].rsplit(" ", 1)[0].rstrip(",;.\n")
    return text + "."


def _timestamp(rng: random.Random) -> str:
    ts = 1420070400 + rng.randrange(10 * 365 * 86400)  # 2015-01-01 + up to ten years
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _uid(rng: random.Random) -> str:
    return f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"


def _photo(rng: random.Random) -> str:
    """Base64 of a fake JPEG: 2-6 KB of base64 text."""
    size = rng.randint(1536, 4608)  # raw bytes -> 2048..6144 base64 characters
    header = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    body = rng.randbytes(size - len(header) - 2)
    return base64.b64encode(header + body + b"\xff\xd9").decode("ascii")


# --------------------------------------------------------------------------- cards


def _card30(rng: random.Random) -> bytes:
    culture = rng.choices(CULTURES, _CULTURE_WEIGHTS)[0]
    p = _person(rng, culture)
    out = [b"BEGIN:VCARD\r\nVERSION:3.0\r\n"]
    add = out.append
    add(_fold(f"UID:{_uid(rng)}"))
    add(_fold(f"FN:{_esc(p.fn)}"))
    add(_fold("N:" + ";".join(_esc(x) for x in (p.family, p.given, p.middle, p.prefix, p.suffix))))
    add(_fold(f"ORG:{_esc(p.company)};{_esc(p.department)}"))
    add(_fold(f"TITLE:{_esc(p.title)}"))
    for i, (kind, addr) in enumerate(_emails(rng, p)):
        pref = ",PREF" if i == 0 and rng.random() < 0.3 else ""
        add(_fold(f"EMAIL;TYPE=INTERNET,{kind}{pref}:{addr}"))
    for kind, number in _phones(rng, p):
        add(_fold(f"TEL;TYPE={kind}:{_esc(number)}"))
    adr = ";".join(_esc(x) for x in _address(rng, p.country))
    add(_fold(f"ADR;TYPE=WORK:;{adr}"))
    if rng.random() < 0.3:
        slug = p.family_ascii.lower().replace(" ", "-").replace("'", "")
        add(_fold(f"URL:https://www.{p.domain}/team/{slug}"))
    if rng.random() < 0.25:
        add(
            _fold(
                f"BDAY:{1950 + rng.randrange(55)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            )
        )
    cats = rng.sample(CATEGORIES, rng.randint(1, 3))
    add(_fold("CATEGORIES:" + ",".join(_esc(c) for c in cats)))
    add(_fold(f"NOTE:{_esc(_note(rng, p))}"))
    if rng.random() < PHOTO_RATIO / (1 - V21_RATIO):  # ~5% of all cards
        add(_fold(f"PHOTO;ENCODING=b;TYPE=JPEG:{_photo(rng)}"))
    add(_fold(f"REV:{_timestamp(rng)}"))
    add(b"END:VCARD\r\n")
    return b"".join(out)


def _prop21(name: str, value: str) -> bytes:
    """A vCard 2.1 property: plain if short ASCII, quoted-printable otherwise."""
    line = f"{name}:{value}"
    if line.isascii() and len(line) <= FOLD_LIMIT and "\n" not in value:
        return line.encode("ascii") + CRLF
    return _qp(f"{name};{QP_PARAMS}", value)


def _card21(rng: random.Random) -> bytes:
    culture = rng.choices(_ACCENTED, _ACCENTED_WEIGHTS)[0]
    for _ in range(6):  # prefer names that actually need encoding
        p = _person(rng, culture)
        if not p.fn.isascii():
            break
    out = [b"BEGIN:VCARD\r\nVERSION:2.1\r\n"]
    add = out.append
    add(_qp(f"N;{QP_PARAMS}", ";".join((p.family, p.given, p.middle, p.prefix, p.suffix))))
    add(_qp(f"FN;{QP_PARAMS}", p.fn))
    add(_prop21("ORG", f"{p.company};{p.department}"))
    add(_prop21("TITLE", p.title))
    for i, (kind, number) in enumerate(_phones(rng, p, cell_first=True)):
        params = "CELL;PREF" if i == 0 else kind
        add(f"TEL;{params}:{number}".encode("ascii") + CRLF)
    for kind, addr in _emails(rng, p):
        params = "INTERNET" if kind == "WORK" else "INTERNET;HOME"
        add(f"EMAIL;{params}:{addr}".encode("ascii") + CRLF)
    add(_prop21("ADR;WORK", ";" + ";".join(_address(rng, p.country))))
    add(_qp(f"NOTE;{QP_PARAMS}", _note(rng, p)))
    add(f"REV:{_timestamp(rng).replace('-', '').replace(':', '')}".encode("ascii") + CRLF)
    add(b"END:VCARD\r\n")
    return b"".join(out)


# ------------------------------------------------------------------------------ API


def generate(n: int, out: pathlib.Path, seed: int = 1) -> int:
    """Write ``n`` vCards to ``out`` and return the number of bytes written.

    Cards are produced and written one at a time through a buffered binary file,
    so memory use does not grow with ``n``.  The output is a pure function of
    ``(n, seed)``.
    """
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    rng = random.Random(seed)
    written = 0
    with open(pathlib.Path(out), "wb", buffering=1 << 20) as fh:
        for _ in range(n):
            card = _card21(rng) if rng.random() < V21_RATIO else _card30(rng)
            fh.write(card)
            written += len(card)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description="Generate a deterministic, realistic vCard file for benchmarks.",
    )
    parser.add_argument("n", type=int, metavar="N", help="number of cards to generate")
    parser.add_argument("out", type=pathlib.Path, metavar="OUT.vcf", help="output file")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1)")
    args = parser.parse_args(argv)
    if args.n < 0:
        parser.error("N must be >= 0")
    start = time.perf_counter()
    size = generate(args.n, args.out, seed=args.seed)
    elapsed = time.perf_counter() - start
    avg = size / args.n if args.n else 0.0
    print(
        f"wrote {args.n} cards, {size} bytes ({avg:.0f} B/card) to {args.out} in {elapsed:.2f}s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
