#!/usr/bin/env python3
"""Write netgarden's bundled demo data: a fictional address book and its interaction history.

    python3 data/sample/generate.py

rewrites, next to this script: contacts.vcf, Connections.csv, google.csv, interactions.csv,
networks.toml and overrides.toml. README.md is written by hand.

Everything is fictional: names are combined at random from per-culture lists, companies are
invented and live on reserved domains (*.example, *.test, example.com/.org/.net), phone numbers
are in the ranges set aside for fiction (US +1 NPA-555-01xx, UK 020 7946 0xxx and 07700 900xxx).

Python 3.11 standard library only. The output depends on SEED and nothing else: no clock, no
locale, no hash order (only lists and insertion-ordered dicts are iterated), so running this twice
gives byte-identical files.
"""

from __future__ import annotations

import csv
import io
import random
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

SEED = 20251125
OUT = Path(__file__).resolve().parent

HISTORY_START = date(2025, 6, 1)
HISTORY_END = date(2026, 11, 14)

# --------------------------------------------------------------------------------------------
# Names: (given names, family names) per culture. Names are paired within a culture only.
# --------------------------------------------------------------------------------------------

CULTURES: dict[str, tuple[list[str], list[str]]] = {
    "english": (
        ["Olivia", "Liam", "Harper", "Ethan", "Grace", "Owen", "Nora", "Caleb", "Hazel", "Wyatt",
         "Iris", "Miles", "Rosalind", "Felix"],
        ["Whitfield", "Ashby", "Calloway", "Pembrook", "Hartley", "Langford", "Merritt",
         "Thornbury", "Easton", "Kendrick", "Fairbanks", "Halloway", "Wexley", "Burrows"],
    ),
    "irish": (
        ["Aoife", "Cian", "Niamh", "Ruairí", "Siobhán", "Eoin", "Orla", "Fionn"],
        ["Gallagher", "Kavanagh", "Doherty", "Brannigan", "Quinlan", "Ó Floinn"],
    ),
    "scottish": (
        ["Catriona", "Callum", "Isla", "Lachlan", "Morag", "Euan"],
        ["MacLeod", "McAllister", "Drummond", "Fraser", "Sutherland", "MacKinnon"],
    ),
    "nigerian": (
        ["Adebayo", "Chiamaka", "Oluwaseun", "Ngozi", "Emeka", "Folake", "Tunde", "Ifeoma"],
        ["Adeyemi", "Okafor", "Nwosu", "Balogun", "Eze", "Ogunleye", "Chukwu", "Adeleke"],
    ),
    "ghanaian": (
        ["Kwame", "Ama", "Kofi", "Abena", "Yaw", "Efua", "Kwesi"],
        ["Mensah", "Asante", "Boateng", "Owusu", "Ofori", "Darko", "Appiah"],
    ),
    "kenyan": (
        ["Wanjiru", "Otieno", "Achieng", "Kiprono", "Njeri", "Mutua"],
        ["Kamau", "Odhiambo", "Mwangi", "Chebet", "Wambui", "Kiplagat"],
    ),
    "ethiopian": (
        ["Selam", "Dawit", "Mekdes", "Tesfaye", "Hanna", "Yonas"],
        ["Haile", "Bekele", "Gebremedhin", "Alemu", "Tadesse", "Girma"],
    ),
    "indian": (
        ["Priya", "Arjun", "Ananya", "Rohan", "Kavya", "Vikram", "Meera", "Aditya", "Lakshmi",
         "Karthik", "Sneha", "Rahul", "Divya", "Sanjay"],
        ["Raghunathan", "Iyer", "Deshpande", "Banerjee", "Chatterjee", "Krishnan", "Venkatesan",
         "Kulkarni", "Menon", "Bhattacharya", "Nair", "Subramaniam"],
    ),
    "pakistani_bangladeshi": (
        ["Ayesha", "Bilal", "Farhan", "Sana", "Nusrat", "Tanvir", "Zara"],
        ["Qureshi", "Siddiqui", "Chowdhury", "Rahman", "Malik", "Hossain", "Ansari"],
    ),
    "chinese": (
        ["Wei", "Xiaoming", "Jun", "Mei", "Haoran", "Yutong", "Zihan", "Jiayi"],
        ["Zhang", "Wang", "Chen", "Liu", "Huang", "Zhou", "Lin", "Xu"],
    ),
    "japanese": (
        ["Haruto", "Yui", "Sota", "Aoi", "Ren", "Hina", "Kenji", "Sakura"],
        ["Takahashi", "Watanabe", "Yamamoto", "Nakamura", "Kobayashi", "Ishikawa", "Fujimoto",
         "Matsuda"],
    ),
    "korean": (
        ["Jiwoo", "Minjun", "Seoyeon", "Hyunwoo", "Jisoo", "Donghyun"],
        ["Park", "Choi", "Jeong", "Kang", "Yoon", "Han"],
    ),
    "vietnamese": (
        ["Linh", "Minh", "Thảo", "Quang", "Hà", "Tuấn"],
        ["Nguyễn", "Trần", "Lê", "Phạm", "Đặng", "Vũ"],
    ),
    "filipino": (
        ["Maricel", "Jomar", "Rowena", "Paolo", "Liezl"],
        ["Dela Cruz", "Bautista", "Santos", "Villanueva", "Mendoza"],
    ),
    "indonesian": (
        ["Ayu", "Budi", "Sari", "Dewi", "Agus"],
        ["Santoso", "Wijaya", "Setiawan", "Kusuma", "Hartono"],
    ),
    "thai": (
        ["Niran", "Kanya", "Somchai", "Ploy", "Anong"],
        ["Srisuk", "Charoenkul", "Wongsawat", "Boonmee", "Thongdee"],
    ),
    "arabic": (
        ["Layla", "Omar", "Yasmin", "Karim", "Nour", "Tariq", "Rania", "Hassan"],
        ["Haddad", "Al-Masri", "Nasser", "Khoury", "Saleh", "El-Amin", "Farouk", "Mansour"],
    ),
    "turkish": (
        ["Elif", "Emre", "Zeynep", "Can", "Deniz", "Burak"],
        ["Yılmaz", "Demir", "Şahin", "Kaya", "Öztürk", "Çelik"],
    ),
    "persian": (
        ["Darya", "Kian", "Shirin", "Arash", "Parisa", "Babak"],
        ["Tehrani", "Farahani", "Rostami", "Moradi", "Karimi", "Jafari"],
    ),
    "hebrew": (
        ["Noa", "Eitan", "Tamar", "Yonatan", "Shira", "Ari"],
        ["Ben-David", "Levi", "Mizrahi", "Peretz", "Avraham", "Shapiro"],
    ),
    "ukrainian": (
        ["Olena", "Taras", "Oksana", "Bohdan", "Iryna", "Andriy"],
        ["Kovalenko", "Shevchuk", "Bondarenko", "Melnyk", "Tkachenko", "Kravchuk"],
    ),
    "polish": (
        ["Katarzyna", "Piotr", "Agnieszka", "Jakub", "Małgorzata", "Tomasz"],
        ["Nowak", "Kowalczyk", "Wróbel", "Mazur", "Kaczmarek", "Wójcik"],
    ),
    "serbian_croatian": (
        ["Milica", "Nikola", "Jelena", "Marko", "Ivana", "Luka"],
        ["Petrović", "Jovanović", "Horvat", "Marković", "Kovačić", "Babić"],
    ),
    "german": (
        ["Jürgen", "Anneliese", "Lukas", "Greta", "Jonas", "Lena"],
        ["Müller", "Schäfer", "Brandt", "Köhler", "Weiß", "Hoffmann"],
    ),
    "dutch": (
        ["Saskia", "Joost", "Femke", "Daan", "Sanne"],
        ["van der Berg", "de Vries", "Jansen", "Bakker", "Visser"],
    ),
    "nordic": (
        ["Sven", "Ingrid", "Maja", "Henrik", "Søren", "Astrid", "Linnea"],
        ["Lindqvist", "Halvorsen", "Bergström", "Østergaard", "Åberg", "Nyström"],
    ),
    "finnish": (
        ["Aino", "Mikko", "Eero", "Sanna", "Juha"],
        ["Virtanen", "Mäkinen", "Korhonen", "Häkkinen", "Laine"],
    ),
    "french": (
        ["Zoë", "Étienne", "Margaux", "Théo", "Céline", "Benoît"],
        ["Lefèvre", "Dubois", "Moreau", "Girard", "Rousseau", "Mercier"],
    ),
    "italian": (
        ["Chiara", "Matteo", "Giulia", "Lorenzo", "Francesca", "Davide"],
        ["Rossi", "Bianchi", "Esposito", "Romano", "Colombo", "Ricci"],
    ),
    "spanish": (
        ["Lucía", "Mateo", "Inés", "Álvaro", "Carmen", "Pablo"],
        ["García", "Fernández", "Muñoz", "Ortega", "Navarro", "Ibáñez"],
    ),
    "brazilian_portuguese": (
        ["João", "Beatriz", "Thiago", "Larissa", "Gonçalo", "Marta"],
        ["Oliveira", "Araújo", "Gonçalves", "Carvalho", "Ribeiro", "Pereira"],
    ),
    "greek": (
        ["Eleni", "Nikos", "Sofia", "Giorgos", "Dimitra", "Yannis"],
        ["Georgiou", "Antoniou", "Stavrou", "Christodoulou", "Nikolaou", "Ioannou"],
    ),
    "latin_american": (
        ["Camila", "Santiago", "Valentina", "Diego", "Renata", "Ximena"],
        ["Hernández", "Ramírez", "Quispe", "Mamani", "Álvarez", "Villalobos"],
    ),
    "maori": (
        ["Aroha", "Tama", "Mere", "Wiremu", "Anahera"],
        ["Ngata", "Parata", "Tawhiri", "Rangihau", "Te Awa"],
    ),
    "samoan": (
        ["Sione", "Losa", "Malia", "Tavita", "Lagi"],
        ["Tuilagi", "Faleolo", "Aumua", "Leota", "Sapolu"],
    ),
}

# --------------------------------------------------------------------------------------------
# Organizations. Every domain is reserved for documentation or testing (RFC 2606 / 6761).
# --------------------------------------------------------------------------------------------

CLIENTS = [
    ("Acme Corporation", "acme.example", ["Procurement", "Operations", "IT"]),
    ("Globex Industries", "globex.example", ["Supply Chain", "Finance"]),
    ("Initech", "initech.example", ["Platform", "Customer Success"]),
    ("Brightlane Retail", "brightlane.example", ["E-commerce", "Stores"]),
    ("Copperleaf Foods", "copperleaf.example", ["Operations", "Marketing"]),
    ("Marlow & Finch Logistics", "marlowfinch.example", ["Fleet", "IT"]),
]
# Brightlane staff write from regional subdomains: `brightlane.example` in a rule matches them.
BRIGHTLANE_SUBDOMAINS = ["eu.brightlane.example", "us.brightlane.example"]
CLIENT_TITLES = ["Head of Operations", "Procurement Manager", "VP Marketing", "Director of IT",
                 "Operations Analyst", "Chief Operating Officer", "Product Owner",
                 "Finance Business Partner", "Software Engineer", "Programme Manager",
                 "Category Manager", "Logistics Coordinator"]

PARTNERS = [
    ("Kite Studio", "kitestudio.example"),
    ("Lumen Partners", "lumen-partners.example"),
    ("Fernwood Consulting, LLC", "fernwood.example"),
    ("Pinecrest Data Co-op", "pinecrest.test"),
    ("Ostara Translation", "ostara.example.org"),
]
PARTNER_TITLES = ["Founder", "Managing Director", "Account Director", "Creative Director",
                  "Partnerships Lead", "Senior Translator", "Data Engineer", "Delivery Lead"]

VC_FIRMS = [
    ("Harbor Light Ventures", "harborlight.example"),
    ("Saltmarsh Capital", "saltmarsh-capital.example"),
    ("Ninefold Ventures", "ninefold.example"),
    ("Quarry Hill Capital Partners", "quarryhill.example"),
]
VC_TITLES = ["General Partner", "Partner", "Principal", "Associate", "Venture Partner",
             "Managing Partner", "Senior Associate"]
VC_STAFF_TITLES = ["Platform Lead", "Office Manager", "Head of Talent"]

EMPLOYERS = [
    ("Northwind Labs", "northwindlabs.example"),
    ("Tidewater Robotics", "tidewater.example"),
    ("Quillfeather Health", "quillfeather.example"),
    ("Solstice Energy", "solstice-energy.test"),
]
EMPLOYER_TITLES = ["CTO", "VP Engineering", "Head of Product", "Engineering Manager",
                   "Talent Acquisition Partner", "Staff Engineer", "Design Lead", "Recruiter",
                   "Chief People Officer", "Head of Data"]

MENTOR_ORGS = [
    ("Riverbend University", "riverbend-university.example"),
    ("Cedar Hollow Institute", "cedarhollow.example"),
    ("Retired", None),
    ("Self-employed", None),
]
MENTOR_TITLES = ["Professor of Computer Science", "Executive Coach", "Board Advisor",
                 "Former CTO", "Author", "Retired COO", "Director of Studies", "Chair"]

ENGINEER_ORGS = [
    ("Tessellate Games", "tessellate.test"),
    ("Orchard Analytics", "orchard-analytics.example"),
    ("Bramble Bank", "bramblebank.example"),
    ("Vantage Mobility", "vantage-mobility.example"),
    ("Freelance", None),
]
ENGINEER_TITLES = ["Senior Software Engineer", "Frontend Developer", "Product Designer",
                   "Data Engineer", "iOS Developer", "UX Designer", "Backend Engineer",
                   "Site Reliability Engineer", "Machine Learning Engineer",
                   "Full-Stack Developer", "Platform Engineer", "Interaction Designer"]

CONSULTANT_ORGS = [("Ridgeway Consulting", "ridgeway.example"), ("Independent consultant", None)]
CONSULTANT_TITLES = ["Fractional CFO", "Management Consultant", "Supply Chain Consultant",
                     "Brand Strategist", "Pricing Consultant", "Interim COO"]

ANGEL_ORGS = ["Moss & Vale Holdings", "Hawthorn Family Office", "Self-employed", ""]
ANGEL_TITLES = ["Angel Investor", "Founder", "Board Member", ""]

PERSONAL_ORGS = [("Riverside Dental", "Dentist"), ("Maplewood Primary School", "Teacher"),
                 ("St Brigid's Hospital", "Nurse"), ("Fenwick Architects", "Architect"),
                 ("The Copper Pot", "Head Chef"), ("", "Photographer"),
                 ("Eastgate Library", "Librarian"), ("", "Physiotherapist"),
                 ("Harrow Lane Veterinary", "Veterinary Surgeon"), ("", "Pharmacist"),
                 ("Okapi Books", "Bookseller"), ("", "Accountant"), ("", "Student"),
                 ("Sunnyside Allotments", "Plot Secretary"), ("", "Translator"),
                 ("", ""), ("", ""), ("", ""), ("", ""), ("", ""), ("", ""), ("", "")]

PERSONAL_DOMAINS = ["mail.example", "inbox.test", "post.example.net", "example.com",
                    "example.org", "home.test"]

EVENTS = ["Lantern Conf", "Meridian Forum", "Harbourside Tech Days", "OpsCamp North",
          "the Tidewater open house", "Data Allotment meetup", "Founders' Breakfast"]
PROJECTS = ["Aurora", "Kestrel", "Bluebell", "Granite", "Mistral", "Juniper", "Halcyon"]
HOBBIES = ["sourdough", "trail running", "chess", "birdwatching", "vinyl", "rowing",
           "climbing"]

# --------------------------------------------------------------------------------------------
# Note templates per kind. Only mentor notes say "mentor" (the mentors-by-note rule).
# --------------------------------------------------------------------------------------------

NOTES = {
    "client": [
        "Main contact for the {project} rollout; signs off on invoices over 10k.",
        "Met at {event} {year}. Prefers calls before 10:00, dislikes long decks.",
        "Champion for the renewal in Q{q}; reports to the COO. Ask about {hobby}, they "
        "remember who asks, and it opened the door last time.",
        "Budget owner. Needs a one-page summary before every steering meeting, sent the "
        "Friday before, not the Monday.",
    ],
    "partner": [
        "Referral partner: we send each other overflow work. Split is 10%, paid quarterly.",
        "Co-delivered the {project} project with us in {year}; great with nervous "
        "stakeholders and honest about capacity.",
        "White-label agreement signed {year}. Quarterly pipeline review.",
    ],
    "vc_investor": [
        "Led the pre-seed in {year}; wants a monthly update, two paragraphs max, metrics first.",
        "Met at {event} {year}. Focus: climate, logistics, B2B tooling; cheque size 250k-1m, "
        "prefers warm intros through founders they backed.",
        "Passed on the seed round, asked to be kept in the loop.",
    ],
    "vc_staff": ["Runs the portfolio events calendar; good person to ask about office hours."],
    "angel": [
        "Angel; invested in the {year} round. Happy to make intros to retail buyers.",
        "Invested via SAFE, {year}. Reads every update, replies to about one in three.",
    ],
    "mentor_cat": [
        "Monthly call, first Tuesday. Always asks: what did you ship, what did you learn, what "
        "scares you?",
        "Blunt and generous with time. Send the agenda the day before.",
        "Introduced by {first_other} at {event} {year}.",
    ],
    "mentor_note": [
        "Informal mentor since {year}; knows everyone in logistics and will say so.",
        "Mentored me through the first hire and the first difficult customer escalation. Owes "
        "me nothing, check in anyway.",
        "Was my mentor at {org_other}; still the first person I call about pricing.",
    ],
    "consultant": [
        "Fractional help on pricing and finance; day rate agreed, invoices monthly.",
        "Helped with the {project} supplier negotiation; fair, fast, expensive.",
    ],
    "employer": [
        "Their team is hiring for platform roles; suggested we talk again after {event}.",
        "Met at {event} {year}; building the data team from scratch and open to a "
        "conversation about a lead role next year.",
        "Hiring manager for the {project} team.",
    ],
    "engineer": [
        "Worked together on the {project} migration; excellent at untangling legacy code.",
        "Strong on accessibility and design systems. Might be open to a move in 2027.",
        "Gave a great talk at {event} {year} on testing data pipelines; follow up about "
        "contract work once the {project} budget is confirmed.",
    ],
    "personal": [
        "Neighbour at number 12. Has a spare key.",
        "Book club, second Thursday. Kids: Sam (9) and Ren (6).",
        "University friend.\nBirthday in June.",
        "Ran the half marathon together in {year}; training partner on Sundays, usually "
        "the river loop, 8:00 sharp.",
        "Dentist; recall due every six months.",
    ],
}

ORG_OTHER = ["Globex Industries", "my first job", "Cedar Hollow Institute", "Kite Studio"]


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


@dataclass
class Phone:
    kind: str  # "us", "uk_london", "uk_mobile"
    area: str
    last: str  # the reserved part's last digits

    def vcard(self) -> str:
        if self.kind == "us":
            return f"+1 {self.area}-555-01{self.last}"
        if self.kind == "uk_london":
            return f"+44 20 7946 0{self.last}"
        return f"+44 7700 900{self.last}"

    def national(self) -> str:
        """The same number as people type it at home: Google shows this form."""
        if self.kind == "us":
            return f"({self.area}) 555-01{self.last}"
        if self.kind == "uk_london":
            return f"020 7946 0{self.last}"
        return f"07700 900{self.last}"


@dataclass
class Person:
    pid: int
    culture: str
    given: str
    family: str
    kind: str
    org: str = ""
    dept: str = ""
    title: str = ""
    emails: list[tuple[str, str]] = field(default_factory=list)  # (type, address)
    phones: list[tuple[str, Phone]] = field(default_factory=list)  # (type, phone)
    categories: list[str] = field(default_factory=list)
    note: str = ""
    uid: str = ""
    prefix: str = ""
    in_vcf: bool = True
    vcard21: bool = False
    comma_fn: bool = False
    apple_item: bool = False
    in_google: bool = False
    google_labels: list[str] = field(default_factory=list)
    google_extra_email: str = ""
    google_middle: str = ""
    google_nickname: str = ""
    google_birthday: str = ""
    in_linkedin: bool = False
    linkedin_email: str = ""
    linkedin_last_suffix: str = ""
    connected_on: date | None = None
    pattern: str = "never"
    interactions: list[tuple[date, str, str, str]] = field(default_factory=list)

    @property
    def full(self) -> str:
        return f"{self.given} {self.family}"

    @property
    def primary(self) -> str:
        return self.emails[0][1] if self.emails else ""


def ascii_fold(text: str) -> str:
    special = {"ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "ı": "i", "ł": "l", "Ł": "L",
               "ð": "d", "æ": "ae"}
    text = "".join(special.get(ch, ch) for ch in text)
    folded = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in folded if not unicodedata.combining(ch))


def slug(text: str) -> str:
    out = []
    for ch in ascii_fold(text).lower():
        if ch.isalnum():
            out.append(ch)
    return "".join(out)


class Builder:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used_names: set[str] = set()  # membership only, never iterated
        self.used_emails: set[str] = set()
        us_areas = ["202", "212", "312", "415", "503", "617", "206", "512"]
        self.us_phones = [Phone("us", a, f"{n:02d}") for a in us_areas for n in range(0, 100)]
        self.uk_phones = ([Phone("uk_london", "", f"{n:03d}") for n in range(0, 1000)]
                          + [Phone("uk_mobile", "", f"{n:03d}") for n in range(0, 1000)])
        rng.shuffle(self.us_phones)
        rng.shuffle(self.uk_phones)
        self.uid_counter = 0
        self.people: list[Person] = []

    def name(self, want_accent: bool | None = None) -> tuple[str, str, str]:
        cultures = list(CULTURES)
        for _ in range(10_000):
            culture = self.rng.choice(cultures)
            givens, families = CULTURES[culture]
            given, family = self.rng.choice(givens), self.rng.choice(families)
            full = f"{given} {family}"
            if full in self.used_names:
                continue
            accented = full != ascii_fold(full)
            if want_accent is not None and accented != want_accent:
                continue
            self.used_names.add(full)
            return culture, given, family
        raise RuntimeError("ran out of names")

    def email(self, given: str, family: str, domain: str) -> str:
        g, f = slug(given), slug(family)
        patterns = [f"{g}.{f}", f"{g[0]}{f}", f"{g}", f"{g}_{f}", f"{g}{f[0]}", f"{f}.{g}"]
        weights = [6, 3, 1, 1, 1, 1]
        for _ in range(50):
            local = self.rng.choices(patterns, weights)[0]
            address = f"{local}@{domain}"
            if address not in self.used_emails:
                self.used_emails.add(address)
                return address
        address = f"{g}.{f}{len(self.used_emails)}@{domain}"
        self.used_emails.add(address)
        return address

    def phone(self) -> Phone:
        """An unused fictional number, US or UK about evenly."""
        return (self.us_phones if self.rng.random() < 0.5 else self.uk_phones).pop()

    def new_uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

    def note(self, kind: str, p: Person) -> str:
        template = self.rng.choice(NOTES[kind])
        return template.format(
            project=self.rng.choice(PROJECTS),
            event=self.rng.choice(EVENTS),
            year=self.rng.choice(["2019", "2021", "2022", "2023", "2024"]),
            q=self.rng.randint(1, 4),
            hobby=self.rng.choice(HOBBIES),
            first_other=self.rng.choice(["Omar", "Greta", "Kwame", "Mei", "Lucía"]),
            org_other=self.rng.choice(ORG_OTHER),
        )

    def person(self, kind: str, *, accent: bool | None = None) -> Person:
        rng = self.rng
        culture, given, family = self.name(accent)
        p = Person(pid=len(self.people), culture=culture, given=given, family=family, kind=kind)
        self.people.append(p)
        work_domain: str | None = None
        note_kind = kind
        if kind == "client":
            org, domain, depts = rng.choice(CLIENTS)
            p.org, p.dept, p.title = org, rng.choice(depts + [""]), rng.choice(CLIENT_TITLES)
            work_domain = domain
            if domain == "brightlane.example" and rng.random() < 0.6:
                work_domain = rng.choice(BRIGHTLANE_SUBDOMAINS)
        elif kind == "partner":
            p.org, work_domain = rng.choice(PARTNERS)
            p.title = rng.choice(PARTNER_TITLES)
        elif kind == "vc_investor":
            p.org, work_domain = rng.choice(VC_FIRMS)
            p.title = rng.choice(VC_TITLES)
        elif kind == "vc_staff":
            p.org, work_domain = rng.choice(VC_FIRMS)
            p.title = rng.choice(VC_STAFF_TITLES)
        elif kind == "angel":
            p.org, p.title = rng.choice(ANGEL_ORGS), rng.choice(ANGEL_TITLES)
        elif kind in ("mentor_cat", "mentor_note"):
            p.org, work_domain = rng.choice(MENTOR_ORGS)
            p.title = rng.choice(MENTOR_TITLES)
            if p.org == "Riverbend University" and p.title.startswith("Professor"):
                p.prefix = "Dr."
            if kind == "mentor_cat":
                p.categories = ["Mentors"]
        elif kind == "consultant":
            p.org, work_domain = rng.choice(CONSULTANT_ORGS)
            p.title = rng.choice(CONSULTANT_TITLES)
        elif kind == "employer":
            p.org, work_domain = rng.choice(EMPLOYERS)
            p.title = rng.choice(EMPLOYER_TITLES)
        elif kind in ("engineer_li", "engineer_other"):
            p.org, work_domain = rng.choice(ENGINEER_ORGS)
            p.title = rng.choice(ENGINEER_TITLES)
            note_kind = "engineer"
        elif kind == "personal":
            p.org, p.title = rng.choice(PERSONAL_ORGS)
            p.categories = rng.choice([["Friends"], ["Family"], ["Neighbours"], ["Book Club"],
                                       ["Friends", "Book Club"], []])
        else:
            raise ValueError(kind)
        # E-mail addresses: work first where there is a work domain, personal second (or only).
        personal_domain = rng.choice(PERSONAL_DOMAINS)
        if work_domain:
            p.emails.append(("WORK", self.email(given, family, work_domain)))
            if rng.random() < 0.3:
                p.emails.append(("HOME", self.email(given, family, personal_domain)))
        else:
            p.emails.append(("HOME", self.email(given, family, personal_domain)))
        # Phones.
        p.phones.append((rng.choice(["CELL", "CELL", "WORK"]), self.phone()))
        if rng.random() < 0.2:
            p.phones.append(("HOME", self.phone()))
        if rng.random() < 0.6:
            p.note = self.note(note_kind, p)
        if kind == "mentor_note":
            p.note = self.note("mentor_note", p)
        return p


# --------------------------------------------------------------------------------------------
# vCard writing
# --------------------------------------------------------------------------------------------

CRLF = "\r\n"


def esc(text: str) -> str:
    """vCard 3.0 TEXT escaping."""
    return (text.replace("\\", "\\\\").replace("\n", "\\n").replace(",", "\\,")
            .replace(";", "\\;"))


def fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 2425 5.8.1), never inside a UTF-8 sequence."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + CRLF
    pieces: list[str] = []
    current = ""
    limit = 75
    for ch in line:
        if len((current + ch).encode("utf-8")) > limit:
            pieces.append(current)
            current = ch
            limit = 74  # a continuation line starts with one space
        else:
            current += ch
    pieces.append(current)
    return pieces[0] + CRLF + "".join(" " + piece + CRLF for piece in pieces[1:])


def qp_encode(text: str) -> str:
    """Quoted-printable of UTF-8 bytes, as vCard 2.1 writers (Android) do it."""
    out = []
    for byte in text.encode("utf-8"):
        if (33 <= byte <= 126 and byte != 61) or byte == 32:
            out.append(chr(byte))
        else:
            out.append(f"={byte:02X}")
    return "".join(out)


def qp_line(prefix: str, encoded: str) -> str:
    """A QP property split with soft line breaks ('=' at the end, no leading space next)."""
    line = prefix + encoded
    if len(line) <= 76:
        return line + CRLF
    lines: list[str] = []
    current = prefix
    i = 0
    while i < len(encoded):
        token = encoded[i : i + 3] if encoded[i] == "=" else encoded[i]
        step = len(token)
        if len(current) + len(token) > 75:
            lines.append(current + "=")
            current = ""
            if token == " ":
                # A line starting with a space would read as vCard folding: encode it.
                token = "=20"
        current += token
        i += step
    lines.append(current)
    return CRLF.join(lines) + CRLF


EMAIL_TYPE_STYLES = [
    lambda t: f"EMAIL;TYPE=INTERNET;TYPE={t}",
    lambda t: f"EMAIL;TYPE={t}",
    lambda t: f"EMAIL;TYPE=INTERNET,{t}",
]


def vcard30(p: Person, rng: random.Random) -> str:
    out = ["BEGIN:VCARD" + CRLF, "VERSION:3.0" + CRLF,
           "PRODID:-//Example Software//Sample Address Book 4.2//EN" + CRLF]
    out.append(fold("N:" + ";".join([esc(p.family), esc(p.given), "", esc(p.prefix), ""])))
    if p.comma_fn:
        fn = f"{p.family}, {p.given}"
    else:
        fn = f"{p.prefix} {p.full}" if p.prefix else p.full
    out.append(fold("FN:" + esc(fn)))
    if p.org:
        org = esc(p.org) + (";" + esc(p.dept) if p.dept else "")
        out.append(fold("ORG:" + org))
    if p.title:
        out.append(fold("TITLE:" + esc(p.title)))
    style = rng.choice(EMAIL_TYPE_STYLES)
    for index, (kind, address) in enumerate(p.emails):
        if p.apple_item and index == len(p.emails) - 1:
            out.append(f"item1.EMAIL;TYPE=INTERNET:{address}" + CRLF)
            out.append("item1.X-ABLabel:_$!<Other>!$_" + CRLF)
            continue
        head = style(kind) + (";TYPE=pref" if index == 0 and len(p.emails) > 1 else "")
        out.append(fold(f"{head}:{address}"))
    for kind, phone in p.phones:
        types = {"CELL": "CELL", "WORK": "WORK,VOICE", "HOME": "HOME,VOICE"}[kind]
        out.append(fold(f"TEL;TYPE={types}:{phone.vcard()}"))
    if p.categories:
        out.append(fold("CATEGORIES:" + ",".join(esc(c) for c in p.categories)))
    if p.note:
        out.append(fold("NOTE:" + esc(p.note)))
    if p.uid:
        out.append(fold("UID:" + p.uid))
    out.append("END:VCARD" + CRLF)
    return "".join(out)


def vcard21(p: Person) -> str:
    qp = ";CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:"
    out = ["BEGIN:VCARD" + CRLF, "VERSION:2.1" + CRLF]
    n_value = ";".join(qp_encode(part) for part in [p.family, p.given, "", p.prefix, ""])
    out.append(qp_line("N" + qp, n_value))
    out.append(qp_line("FN" + qp, qp_encode(p.full)))
    if p.org:
        out.append(f"ORG:{p.org}" + CRLF)
    if p.title:
        out.append(f"TITLE:{p.title}" + CRLF)
    for kind, phone in p.phones:
        out.append(f"TEL;{kind};VOICE:{phone.vcard()}" + CRLF if kind != "CELL"
                   else f"TEL;CELL:{phone.vcard()}" + CRLF)
    for kind, address in p.emails:
        out.append(f"EMAIL;{kind};INTERNET:{address}" + CRLF if kind == "WORK"
                   else f"EMAIL;HOME:{address}" + CRLF)
    if p.note:
        if p.note.isascii() and "\n" not in p.note and len(p.note) < 60:
            out.append(f"NOTE:{p.note}" + CRLF)
        else:
            out.append(qp_line("NOTE" + qp, qp_encode(p.note)))
    out.append("END:VCARD" + CRLF)
    return "".join(out)


def group_card(name: str, uid: str, members: list[Person]) -> str:
    out = ["BEGIN:VCARD" + CRLF, "VERSION:3.0" + CRLF,
           "PRODID:-//Example Software//Sample Address Book 4.2//EN" + CRLF,
           f"N:{esc(name)};;;;" + CRLF, f"FN:{esc(name)}" + CRLF,
           "X-ADDRESSBOOKSERVER-KIND:group" + CRLF]
    for m in members:
        out.append(fold(f"X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:{m.uid}"))
    out.append(f"UID:{uid}" + CRLF)
    out.append("END:VCARD" + CRLF)
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Interactions
# --------------------------------------------------------------------------------------------

def days_before_end(n: int) -> date:
    return HISTORY_END - timedelta(days=n)


def pattern_dates(pattern: str, rng: random.Random) -> list[date]:
    """Dates of one person's exchanges, newest last."""
    if pattern == "never":
        return []
    if pattern == "regular":  # every few weeks, the whole period
        day = HISTORY_START + timedelta(days=rng.randint(0, 25))
        last = days_before_end(rng.randint(0, 18))
        out = []
        while day <= last:
            out.append(day)
            day += timedelta(days=rng.randint(20, 45))
        return out
    if pattern == "steady":  # every two or three months, recently too
        last = days_before_end(rng.randint(0, 35))
        out = [last]
        day = last
        while True:
            day -= timedelta(days=rng.randint(95, 160))
            if day < HISTORY_START:
                break
            out.append(day)
        return sorted(out)
    if pattern == "lapsed":  # not touched for 3-9 months
        last = days_before_end(rng.randint(105, 270))
        out = [last]
        for _ in range(rng.randint(0, 2)):
            previous = out[-1] - timedelta(days=rng.randint(20, 90))
            if previous < HISTORY_START:
                break
            out.append(previous)
        return sorted(out)
    if pattern == "recent_few":  # two or three exchanges, the last within two months
        last = days_before_end(rng.randint(2, 40))
        out = [last]
        for _ in range(rng.randint(1, 2)):
            out.append(out[-1] - timedelta(days=rng.randint(10, 120)))
        return sorted(out)
    if pattern == "light":  # one exchange some time in the last year
        return [days_before_end(rng.randint(20, 330))]
    if pattern == "single_old":  # one exchange at the very start, nothing since
        return [HISTORY_START + timedelta(days=rng.randint(0, 110))]
    raise ValueError(pattern)


def exchange(p: Person, rng: random.Random) -> tuple[str, str]:
    """(direction, channel) of one exchange."""
    channels = ["email"] * 5 + ["call"] * 2 + ["meeting"] * 2 + ["coffee"] * 2
    if p.in_linkedin:
        channels += ["linkedin"] * 2
    channel = rng.choice(channels)
    if channel in ("meeting", "coffee"):
        direction = "mutual"
    elif channel == "call":
        direction = rng.choice(["outbound", "outbound", "inbound", "mutual"])
    else:
        direction = rng.choice(["outbound", "outbound", "inbound"])
    return direction, channel


# --------------------------------------------------------------------------------------------
# The address book
# --------------------------------------------------------------------------------------------

VCF_KINDS = [  # (kind, how many people in contacts.vcf)
    ("client", 48),
    ("vc_investor", 14),
    ("vc_staff", 2),
    ("angel", 5),
    ("mentor_cat", 16),
    ("mentor_note", 5),
    ("partner", 23),
    ("consultant", 6),
    ("employer", 25),
    ("engineer_li", 26),
    ("engineer_other", 6),
    ("personal", 24),
]

# People in Connections.csv who are also in contacts.vcf, and how many of those rows carry an
# e-mail address (LinkedIn shows it only when the member allows it).
LINKEDIN_OVERLAP = {  # kind: (rows, rows with e-mail)
    "client": (11, 4),
    "vc_investor": (8, 3),
    "vc_staff": (1, 0),
    "mentor_cat": (3, 3),
    "mentor_note": (1, 1),
    "partner": (6, 2),
    "consultant": (2, 2),
    "employer": (7, 2),
    "engineer_li": (26, 8),
}

GOOGLE_OVERLAP = {  # kind: rows in google.csv that are also in contacts.vcf
    "angel": 5,
    "vc_investor": 5,
    "client": 12,
    "mentor_cat": 5,
    "mentor_note": 1,
    "partner": 5,
    "employer": 5,
    "engineer_li": 2,
    "engineer_other": 1,
    "personal": 7,
}

PATTERN_WEIGHTS = {
    "client": {"regular": 18, "steady": 20, "lapsed": 34, "recent_few": 20, "light": 8},
    "vc_investor": {"regular": 4, "steady": 22, "lapsed": 48, "recent_few": 10, "light": 10},
    "vc_staff": {"lapsed": 50, "light": 50},
    "angel": {"steady": 40, "lapsed": 40, "single_old": 20},
    "mentor_cat": {"steady": 20, "lapsed": 55, "recent_few": 10, "single_old": 15},
    "mentor_note": {"steady": 30, "lapsed": 50, "single_old": 20},
    "partner": {"regular": 12, "steady": 18, "lapsed": 43, "recent_few": 10, "light": 10},
    "consultant": {"steady": 100},
    "employer": {"steady": 15, "lapsed": 40, "recent_few": 30, "light": 15},
    "engineer_li": {"steady": 20, "lapsed": 45, "recent_few": 35},
    "engineer_other": {"recent_few": 50, "lapsed": 50},
    "personal": {"steady": 15, "lapsed": 40, "light": 30, "single_old": 15},
    "li_only": {"recent_few": 50, "lapsed": 50},
    "google_only": {"steady": 30, "lapsed": 40, "recent_few": 30},
}


def build() -> tuple[list[Person], dict[str, object]]:
    rng = random.Random(SEED)
    b = Builder(rng)

    # --- contacts.vcf people --------------------------------------------------------------
    vcf: list[Person] = []
    for kind, count in VCF_KINDS:
        for _ in range(count):
            vcf.append(b.person(kind))
    # Ten vCard 2.1 cards (Android style, quoted-printable UTF-8 names with accents). 2.1 has no
    # CATEGORIES, so they are picked among people who need none.
    eligible_21 = [p for p in vcf if p.kind in ("client", "partner", "employer", "vc_investor")]
    rng.shuffle(eligible_21)
    accented = [p for p in eligible_21 if p.full != ascii_fold(p.full)]
    assert len(accented) >= 10, "not enough accented names for the vCard 2.1 cards"
    for p in accented[:10]:
        p.vcard21 = True
    # UIDs on most 3.0 cards.
    for p in vcf:
        if not p.vcard21 and rng.random() < 0.92:
            p.uid = b.new_uid()
    # People without any e-mail (phone only): three personal contacts.
    personal = [p for p in vcf if p.kind == "personal"]
    for p in personal[:3]:
        p.emails = []
    # A card whose FN is "Family, Given" (escaped comma in 3.0).
    comma_person = personal[3]
    comma_person.comma_fn = True
    comma_person.vcard21 = False
    # Apple-style grouped e-mail (item1.EMAIL + item1.X-ABLabel) on two cards with two e-mails.
    two_emails = [p for p in vcf if len(p.emails) == 2 and not p.vcard21]
    for p in two_emails[:2]:
        p.apple_item = True
    # A client at acme.example who is also in "Mentors": the domain rule wins (first match), an
    # override moves them to mentors.
    acme = [p for p in vcf if p.kind == "client" and p.primary.endswith("@acme.example")
            and not p.vcard21]
    acme_mentor = acme[0]
    acme_mentor.categories = ["Mentors"]
    acme_mentor.title = "Chief Operating Officer"
    acme_mentor.note = ("Ex-founder; agreed to monthly advice calls on top of the Acme account. "
                        "Keep the two conversations separate.")
    # The "Book Club" group card lists its members by UID.
    book_club = [p for p in vcf if "Book Club" in p.categories and p.uid]

    # --- LinkedIn -------------------------------------------------------------------------
    by_kind: dict[str, list[Person]] = {}
    for p in vcf:
        by_kind.setdefault(p.kind, []).append(p)
    for kind, (rows, with_email) in LINKEDIN_OVERLAP.items():
        candidates = [p for p in by_kind[kind] if p.emails and not p.comma_fn]
        if kind in ("client", "mentor_cat"):
            candidates = [p for p in candidates if p is not acme_mentor]
        chosen = rng.sample(candidates, rows)
        for index, p in enumerate(chosen):
            p.in_linkedin = True
            if index < with_email:
                p.linkedin_email = rng.choice(p.emails)[1]
            p.connected_on = date(2014, 1, 1) + timedelta(days=rng.randint(0, 4150))
    # LinkedIn-only people: engineers and designers, two recruiters, an investor, two others.
    li_only: list[Person] = []
    li_specs = (
        [("li_engineer", None)] * 10
        + [("li_recruiter", "Tidewater Robotics"), ("li_recruiter", "Northwind Labs")]
        + [("li_investor", "Saltmarsh Capital")]
        + [("li_other", "Riverbend University"), ("li_other", "Hollowell Furniture")]
    )
    for index, (spec, org) in enumerate(li_specs):
        culture, given, family = b.name()
        p = Person(pid=len(b.people), culture=culture, given=given, family=family, kind=spec,
                   in_vcf=False, in_linkedin=True)
        b.people.append(p)
        if spec == "li_engineer":
            p.org, _domain = rng.choice(ENGINEER_ORGS)
            p.title = rng.choice(ENGINEER_TITLES)
        elif spec == "li_recruiter":
            p.org, p.title = org or "", rng.choice(["Technical Recruiter", "Talent Partner"])
        elif spec == "li_investor":
            p.org, p.title = org or "", "Partner"
        else:
            p.org = org or ""
            p.title = "MSc Student" if org == "Riverbend University" else "Sales Director"
        if index in (0, 1, 2, 3, 10):  # five LinkedIn-only rows show an e-mail
            address = b.email(given, family, rng.choice(PERSONAL_DOMAINS))
            p.emails = [("HOME", address)]
            p.linkedin_email = address
        p.connected_on = date(2022, 1, 1) + timedelta(days=rng.randint(0, 1700))
        li_only.append(p)
    # One LinkedIn member writes a credential into the last name; the row has an e-mail.
    credential = next(p for p in vcf if p.in_linkedin and p.linkedin_email
                      and p.kind in ("client", "employer"))
    credential.linkedin_last_suffix = ", MBA"

    # --- Google ---------------------------------------------------------------------------
    for kind, rows in GOOGLE_OVERLAP.items():
        candidates = [p for p in by_kind[kind] if p.emails and not p.comma_fn]
        for p in rng.sample(candidates, rows):
            p.in_google = True
    google_only: list[Person] = []
    google_specs = (["g_investor"] * 4 + ["g_client"] * 2 + ["g_mentor"] + ["g_employer"] * 2
                    + ["g_partner"] + ["g_personal"] * 2)
    for spec in google_specs:
        base = {"g_investor": "angel", "g_client": "client", "g_mentor": "mentor_cat",
                "g_employer": "employer", "g_partner": "partner",
                "g_personal": "personal"}[spec]
        p = b.person(base)
        p.kind = spec
        p.in_vcf = False
        p.in_google = True
        if spec == "g_mentor":
            p.categories = []
        google_only.append(p)
    for p in b.people:
        if not p.in_google:
            continue
        base = p.kind.removeprefix("g_")
        labels: list[str] = []
        if p.kind in ("angel", "g_investor"):
            labels = ["Investors"]
        elif base in ("mentor_cat", "mentor"):
            labels = ["Mentors"]
        elif base == "client":
            labels = rng.choice([["Clients"], [], []])
        elif base == "personal":
            labels = rng.choice([["Friends"], ["Family"], []])
        elif base == "employer":
            labels = rng.choice([["Recruiters"], []])
        p.google_labels = labels
        if rng.random() < 0.3 and len(p.emails) == 1:
            p.google_extra_email = b.email(p.given, p.family, rng.choice(PERSONAL_DOMAINS))
        if rng.random() < 0.1:
            p.google_middle = rng.choice(["A.", "Marie", "J.", "Lee"])
        if rng.random() < 0.3:
            year = rng.choice(["1971", "1978", "1983", "1986", "1990", "1994", ""])
            month, day = rng.randint(1, 12), rng.randint(1, 28)
            p.google_birthday = f"{year}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"

    # --- Interactions -----------------------------------------------------------------------
    everyone = [p for p in b.people if p.emails]
    # Exact constraints first.
    forced: dict[int, str] = {}
    consultants = by_kind["consultant"]
    for p in consultants[:4]:
        forced[p.pid] = rng.choice(["steady", "recent_few"])
    forced[consultants[4].pid] = "single_old"
    forced[consultants[5].pid] = "never"
    # Engineers whose LinkedIn row has no e-mail: most have >= 2 exchanges in the CSV.
    quiet_li = [p for p in by_kind["engineer_li"] if not p.linkedin_email]
    for p in quiet_li[:3]:
        forced[p.pid] = rng.choice(["never", "light", "single_old"])
    for p in quiet_li[3:]:
        forced[p.pid] = rng.choice(["steady", "lapsed", "recent_few", "recent_few"])
    others = by_kind["engineer_other"]
    for p in others[:4]:
        forced[p.pid] = rng.choice(["recent_few", "steady"])
    forced[others[4].pid] = "light"
    forced[others[5].pid] = "never"
    forced[acme_mentor.pid] = "regular"
    # About 25 people never: pick from those without a forced pattern.
    never_target = 25 - sum(1 for v in forced.values() if v == "never")
    never_weights = {"personal": 5, "employer": 3, "vc_investor": 2, "client": 1, "partner": 2,
                     "mentor_cat": 2, "li_engineer": 3, "li_recruiter": 3, "google_only": 1}
    pool = [p for p in everyone if p.pid not in forced]
    while never_target > 0:
        weights = [never_weights.get(p.kind, 1) for p in pool]
        p = rng.choices(pool, weights)[0]
        pool.remove(p)
        forced[p.pid] = "never"
        never_target -= 1
    for p in everyone:
        if p.pid in forced:
            p.pattern = forced[p.pid]
            continue
        key = p.kind
        if key.startswith("g_"):
            key = "google_only"
        elif key.startswith("li_"):
            key = "li_only"
        weights = PATTERN_WEIGHTS[key]
        p.pattern = rng.choices(list(weights), list(weights.values()))[0]
    for p in everyone:
        addresses = [a for _, a in p.emails]
        if p.google_extra_email:
            addresses.append(p.google_extra_email)
        for day in pattern_dates(p.pattern, rng):
            if len(addresses) > 1 and rng.random() < 0.2:
                address = rng.choice(addresses[1:])
            else:
                address = addresses[0]
            direction, channel = exchange(p, rng)
            p.interactions.append((day, address, direction, channel))

    meta = {"book_club": book_club, "acme_mentor": acme_mentor, "comma": comma_person,
            "li_only": li_only, "google_only": google_only, "vcf": vcf}
    return b.people, meta


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def write_vcf(people: list[Person], meta: dict[str, object], rng: random.Random) -> int:
    vcf = [p for p in people if p.in_vcf]
    order = list(vcf)
    rng.shuffle(order)
    cards = [vcard21(p) if p.vcard21 else vcard30(p, rng) for p in order]
    members = meta["book_club"]
    assert isinstance(members, list)
    group = group_card("Book Club", str(uuid.UUID(int=rng.getrandbits(128), version=4)).upper(),
                       members)
    cards.insert(len(cards) // 2, group)
    (OUT / "contacts.vcf").write_bytes("".join(cards).encode("utf-8"))
    return len(cards)


LINKEDIN_PREAMBLE = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses are '
    "missing. You will only see email addresses for connections who have allowed their "
    "connections to see or download their email address using this setting "
    "https://www.linkedin.com/psettings/privacy/email. You can learn more here "
    'https://www.linkedin.com/help/linkedin/answer/261"\n'
    "\n"
)


def write_linkedin(people: list[Person], rng: random.Random) -> int:
    rows = [p for p in people if p.in_linkedin]
    rows.sort(key=lambda p: (p.connected_on, p.pid), reverse=True)  # newest first, as exported
    buffer = io.StringIO()
    buffer.write(LINKEDIN_PREAMBLE)
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["First Name", "Last Name", "URL", "Email Address", "Company", "Position",
                     "Connected On"])
    for p in rows:
        handle = f"{slug(p.given)}-{slug(p.family)}"
        if rng.random() < 0.7:
            handle += f"-{rng.getrandbits(32):08x}"[:9]
        assert p.connected_on is not None
        writer.writerow([p.given, p.family + p.linkedin_last_suffix,
                         f"https://www.linkedin.com/in/{handle}", p.linkedin_email, p.org,
                         p.title, p.connected_on.strftime("%d %b %Y")])
    (OUT / "Connections.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    return len(rows)


GOOGLE_HEADER = ["First Name", "Middle Name", "Last Name", "Phonetic First Name",
                 "Phonetic Middle Name", "Phonetic Last Name", "Name Prefix", "Name Suffix",
                 "Nickname", "File As", "Organization Name", "Organization Title",
                 "Organization Department", "Birthday", "Notes", "Photo", "Labels",
                 "E-mail 1 - Label", "E-mail 1 - Value", "E-mail 2 - Label", "E-mail 2 - Value",
                 "Phone 1 - Label", "Phone 1 - Value", "Phone 2 - Label", "Phone 2 - Value"]


def write_google(people: list[Person], rng: random.Random) -> int:
    rows = [p for p in people if p.in_google]
    rows.sort(key=lambda p: (ascii_fold(p.given).lower(), ascii_fold(p.family).lower()))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(GOOGLE_HEADER)
    multi_done = False
    for p in rows:
        emails = list(p.emails)
        if p.google_extra_email:
            emails.append(("HOME", p.google_extra_email))
        email_cells: list[str] = []
        for index, (kind, address) in enumerate(emails[:2]):
            label = {"WORK": "Work", "HOME": "Home"}[kind]
            email_cells += [("* " if index == 0 else "") + label, address]
        email_cells += [""] * (4 - len(email_cells))
        phone_cells: list[str] = []
        for index, (kind, phone) in enumerate(p.phones[:2]):
            label = {"CELL": "Mobile", "WORK": "Work", "HOME": "Home"}[kind]
            value = phone.national() if rng.random() < 0.7 else phone.vcard()
            if not multi_done and index == 0 and len(p.phones) == 1 and rng.random() < 0.3:
                value = f"{phone.national()} ::: {phone.vcard()}"
                multi_done = True
            phone_cells += [label, value]
        phone_cells += [""] * (4 - len(phone_cells))
        labels = ["* myContacts"] + p.google_labels
        if p.kind in ("angel", "g_investor") and rng.random() < 0.4:
            labels.insert(1, "* starred")
        note = p.note
        if p.kind == "g_personal" and not note:
            note = "Met through the climbing gym.\nVegetarian."
        writer.writerow([p.given, p.google_middle, p.family, "", "", "", p.prefix, "",
                         p.google_nickname, "", p.org, p.title, p.dept, p.google_birthday, note,
                         "", " ::: ".join(labels), *email_cells, *phone_cells])
    (OUT / "google.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    return len(rows)


def shout(address: str, style: int) -> str:
    local, _, domain = address.partition("@")
    if style == 0:
        return address.upper()
    if style == 1:
        return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
    return local + "@" + domain.capitalize()


def write_interactions(people: list[Person], rng: random.Random) -> int:
    rows = [(day, address, direction, channel)
            for p in people for (day, address, direction, channel) in p.interactions]
    rows.sort()
    # A few rows spell the address with capitals: matching must ignore case.
    for n, index in enumerate(sorted(rng.sample(range(len(rows)), 6))):
        day, address, direction, channel = rows[index]
        rows[index] = (day, shout(address, n % 3), direction, channel)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["date", "email", "direction", "channel"])
    for day, address, direction, channel in rows:
        writer.writerow([day.isoformat(), address, direction, channel])
    (OUT / "interactions.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    return len(rows)


def toml_list(values: list[str]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def write_networks() -> None:
    client_domains = [d for _, d, _ in CLIENTS]
    partner_domains = [d for _, d in PARTNERS]
    text = f"""\
# netgarden networks file for the bundled demo data (fictional people and companies).
#
# Rules run top to bottom; the first rule that matches a person decides their network, and
# every condition inside one `when` must hold. A person no rule matches is "unassigned".
# overrides.toml (e-mail -> network) wins over every rule.
# Regular expressions are searched, case-insensitive; single quotes keep backslashes literal.

default_cadence_days = 60
due_soon_days = 7

[[networks]]
name = "clients"
value = "What I bring them: reliable delivery, early warning on risks and honest estimates."
cadence_days = 30

[[networks]]
name = "partners"
value = "What I bring them: qualified referrals and a co-delivery partner who shows up."
cadence_days = 45

[[networks]]
name = "potential employees"
value = "What I bring them: interesting problems, honest feedback and introductions to good teams."
cadence_days = 60

[[networks]]
name = "investors"
value = "What I bring them: a short, regular update and the first look at the next round."
cadence_days = 60

[[networks]]
name = "mentors"
value = "What I bring them: news of what their advice changed, and people worth meeting."
cadence_days = 90

[[networks]]
name = "potential employers"
value = "What I bring them: a candidate who already understands their problems."
cadence_days = 60

# --- clients ---------------------------------------------------------------------------------

[[rules]]
id = "clients-by-domain"
network = "clients"
# brightlane.example also matches eu.brightlane.example and us.brightlane.example.
when = {{ email_domain = {toml_list(client_domains)} }}

[[rules]]
id = "clients-by-organization"
network = "clients"
# LinkedIn rows mostly come without an e-mail address: match the company name instead.
when = {{ organization = ['^Acme\\b', '^Globex\\b', '^Initech\\b', '^Brightlane\\b', '^Copperleaf\\b', '^Marlow & Finch\\b'] }}

# --- investors -------------------------------------------------------------------------------

[[rules]]
id = "investors-by-label"
network = "investors"
# The Google Contacts label (angels with personal addresses are only found this way).
when = {{ label = ["Investors"] }}

[[rules]]
id = "investors-by-firm"
network = "investors"
# Both must hold: a platform lead or office manager at a fund is not an investor.
when = {{ organization = '\\b(Ventures|Capital)\\b', title = '\\b(partner|principal|associate|investor)\\b' }}

# --- mentors ---------------------------------------------------------------------------------

[[rules]]
id = "mentors-by-category"
network = "mentors"
# vCard CATEGORIES and Google labels are both labels.
when = {{ label = ["Mentors"] }}

[[rules]]
id = "mentors-by-note"
network = "mentors"
when = {{ note = '\\bmentor' }}

# --- partners --------------------------------------------------------------------------------

[[rules]]
id = "partners-by-domain"
network = "partners"
when = {{ email_domain = {toml_list(partner_domains)} }}

[[rules]]
id = "partners-by-organization"
network = "partners"
when = {{ organization = ['^Kite Studio', '^Lumen Partners', '^Fernwood Consulting', '^Pinecrest Data', '^Ostara Translation'] }}

[[rules]]
id = "partners-active-consultants"
network = "partners"
# Independent consultants count as partners only while the relationship is live.
when = {{ organization = 'consult', any_interaction_within_days = 180 }}

# --- potential employers ---------------------------------------------------------------------

[[rules]]
id = "potential-employers-by-organization"
network = "potential employers"
when = {{ organization = ['^Northwind Labs', '^Tidewater Robotics', '^Quillfeather', '^Solstice Energy'] }}

# --- potential employees ---------------------------------------------------------------------

[[rules]]
id = "potential-employees-on-linkedin"
network = "potential employees"
when = {{ title = '\\b(engineer|developer|designer)\\b', source = ["linkedin"] }}

[[rules]]
id = "potential-employees-in-touch"
network = "potential employees"
# Engineers known only from the address book: those with at least two exchanges.
when = {{ title = '\\b(engineer|developer|designer)\\b', min_interactions = 2 }}
"""
    (OUT / "networks.toml").write_bytes(text.encode("utf-8"))


def write_overrides(people: list[Person], meta: dict[str, object]) -> list[tuple[str, str]]:
    acme_mentor = meta["acme_mentor"]
    assert isinstance(acme_mentor, Person)
    quiet_engineer = next(p for p in people if p.kind == "engineer_other" and p.pattern == "light")
    friend = next(p for p in people if p.kind == "personal" and p.emails and not p.comma_fn
                  and p.pattern in ("steady", "lapsed"))
    entries = [
        (acme_mentor.primary, "mentors",
         "Acme client who also mentors me: the domain rule says clients"),
        (quiet_engineer.primary, "potential employees",
         "engineer met once, not on LinkedIn: no rule catches them"),
        (friend.primary, "partners", "friend who co-runs the meetup with me"),
    ]
    lines = ["# E-mail address -> network. An override wins over every rule in networks.toml.",
             "", "[overrides]"]
    for address, network, why in entries:
        lines.append(f'"{address}" = "{network}"  # {why}')
    (OUT / "overrides.toml").write_bytes(("\n".join(lines) + "\n").encode("utf-8"))
    return [(a, n) for a, n, _ in entries]


# --- mail.mbox and meetings.ics --------------------------------------------------------------
# The user's own mailbox and calendar. Their own generator (SEED + 2), after everything above,
# so the other files stay as they were.

ME = "robin.hale@owner.example"
MAIL_START = date(2026, 8, 3)
MAIL_END = date(2026, 11, 13)
# People in no address book: (given, family, address, two-way?). Brightlane's staff are
# clients by the domain rule once the relationship is two-way.
DISCOVERED = [
    ("Zoë", "Adeyemi", "zoe.adeyemi@eu.brightlane.example", True),
    ("Tomás", "Ferreira", "tomas.ferreira@us.brightlane.example", True),
    ("Ines", "Kowalczyk", "ines.kowalczyk@harborlight.example", True),
    ("Priya", "Raman", "priya.raman@inbox.test", True),
    ("Jonas", "Berg", "jonas.berg@post.example.net", False),
    ("Lea", "Moreau", "lea.moreau@mail.example", False),
    ("Ken", "Watanabe", "k.watanabe@talentbridge.example", False),
]
ZONES = ["+0000", "+0100", "-0500", "-0800", "+0200", "+0530"]


def encoded(name: str) -> str:
    """A display name as mail clients write it: plain ASCII, else an RFC 2047 Q word."""
    if name.isascii():
        return name
    data = name.encode("utf-8")
    text = "".join(
        chr(b) if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122) else "_" if b == 32
        else f"={b:02X}" for b in data
    )
    return f"=?UTF-8?Q?{text}?="


def mbox_message(rng: random.Random, day: date, sender: str, to: list[str], labels: str,
                 extra: str = "", date_header: str = "") -> str:
    moment = datetime.combine(day, time(rng.randrange(7, 20), rng.randrange(60),
                                        rng.randrange(60)))
    zone = rng.choice(ZONES)
    sign = 1 if zone[0] == "+" else -1
    offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[3:5])) * sign
    utc = moment - offset
    ident = rng.randrange(10**18, 10**19)
    lines = [
        f"From {ident}@xxx {utc:%a %b %d %H:%M:%S} +0000 {utc:%Y}",
        f"X-GM-THRID: {ident}",
        f"X-Gmail-Labels: {labels}",
        f"Received: by 2002:a05:6000:{rng.randrange(4096):x} with SMTP id x{ident % 99991};",
        f"        {utc:%a, %d %b %Y %H:%M:%S} -0000",
        f"Date: {date_header or moment.strftime('%a, %d %b %Y %H:%M:%S ') + zone}",
        f"From: {sender}",
        f"To: {', '.join(to)}",
        f"Message-ID: <{ident:x}.{rng.randrange(10**6)}@mail.sample.example>",
        "Subject: (the subject is never stored)",
        "Content-Type: text/plain; charset=UTF-8",
    ]
    if extra:
        lines.append(extra)
    body = ["Hello,", "", "Following up on our conversation.", ">From the notes: all fine.", "",
            "Best"]
    return "\n".join(lines) + "\n\n" + "\n".join(body) + "\n\n"


def write_mbox(people: list[Person]) -> tuple[int, int]:
    """A Google Takeout mbox of the user's mail: exchanges with address-book people (clients,
    investors, mentors, employers, personal: kinds whose rules ignore the history), people in
    no address book, and the noise netgarden skips."""
    rng = random.Random(SEED + 2)
    me = f"Robin Hale <{ME}>"
    known = [p for p in people if p.in_vcf and p.emails
             and p.kind in ("client", "vc_investor", "mentor_cat", "employer", "personal")]
    chosen = rng.sample(known, 45)
    span = (MAIL_END - MAIL_START).days
    messages: list[tuple[date, str]] = []

    def day() -> date:
        return MAIL_START + timedelta(days=rng.randrange(span + 1))

    for p in chosen:
        them = f"{encoded(p.full)} <{p.primary}>"
        for _ in range(rng.randrange(1, 4)):
            sent = day()
            messages.append((sent, mbox_message(rng, sent, me, [them], "Sent")))
            if rng.random() < 0.7:
                back = min(sent + timedelta(days=rng.randrange(0, 4)), MAIL_END)
                messages.append((back, mbox_message(rng, back, them, [me], "Inbox,Opened")))
    for given, family, address, two_way in DISCOVERED:
        them = f"{encoded(given + ' ' + family)} <{address}>"
        first = day()
        messages.append((first, mbox_message(rng, first, them, [me], "Inbox,Important")))
        if two_way:
            reply = min(first + timedelta(days=1), MAIL_END)
            messages.append((reply, mbox_message(rng, reply, me, [them], "Sent")))
    # Noise: every rule of the filter once or more.
    noise = (
        [("Sample Weekly <news@letters.example>", [me], "Category Updates",
          f"List-Unsubscribe: <mailto:leave-{n}@letters.example>") for n in range(12)]
        + [("Calendar <noreply@calendar.example>", [me], "Inbox", "")] * 5
        + [(f"Prize Desk <winner{n}@spam.example>", [me], "Spam", "") for n in range(4)]
    )
    crowd = [f"{p.full} <{p.primary}>" for p in known[:25]]
    noise += [(me, crowd, "Sent", ""), (me, [crowd[0]], "Draft", "")]
    for sender, to, labels, extra in noise:
        when = day()
        messages.append((when, mbox_message(rng, when, sender, to, labels, extra=extra)))
    # A broken Date: the Received header says when it arrived.
    odd = chosen[0]
    messages.append((MAIL_END, mbox_message(
        rng, MAIL_END, f"{encoded(odd.full)} <{odd.primary}>", [me], "Inbox",
        date_header="Wed, 15 Dec 2010    59:10 -0500")))
    messages.sort(key=lambda m: m[0])
    text = "".join(m for _, m in messages)
    (OUT / "mail.mbox").write_bytes(text.encode("utf-8"))
    return len(messages), len(DISCOVERED)


def write_ics(people: list[Person]) -> int:
    """The user's calendar: a fortnightly mentoring call, a monthly client review with a room,
    a cancelled and a declined meeting, coffee with someone met by mail."""
    mentor = next(p for p in people if p.in_vcf and p.kind == "mentor_cat" and p.emails)
    clients = [p for p in people if p.in_vcf and p.kind == "client" and p.emails][-2:]
    investor = next(p for p in people if p.in_vcf and p.kind == "vc_investor" and p.emails)

    def who(p: Person, role: str = "REQ-PARTICIPANT", status: str = "ACCEPTED") -> str:
        return (f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE={role};PARTSTAT={status};"
                f"CN={p.full}:mailto:{p.primary}")

    me_org = f"ORGANIZER;CN=Robin Hale:mailto:{ME}"
    me_att = f"ATTENDEE;CN=Robin Hale;PARTSTAT=ACCEPTED:mailto:{ME}"
    events = [
        ["UID:mentoring-call@sample.example",
         "DTSTART;TZID=Europe/London:20260907T173000",
         "DTEND;TZID=Europe/London:20260907T181500",
         "RRULE:FREQ=WEEKLY;INTERVAL=2;COUNT=5",
         "EXDATE;TZID=Europe/London:20261005T173000",
         "SUMMARY:Mentoring call", me_org, me_att, who(mentor)],
        ["UID:client-review@sample.example",
         "DTSTART;TZID=Europe/London:20260915T100000",
         "DTEND;TZID=Europe/London:20260915T110000",
         "RRULE:FREQ=MONTHLY;COUNT=3",
         "SUMMARY:Quarterly review", me_org, me_att, *(who(c) for c in clients),
         "ATTENDEE;CUTYPE=ROOM;CN=Boardroom:mailto:boardroom@owner.example"],
        ["UID:investor-lunch@sample.example", "DTSTART:20261020T120000Z",
         "DTEND:20261020T133000Z", "STATUS:CANCELLED", "SUMMARY:Lunch", me_org, me_att,
         who(investor)],
        ["UID:panel@sample.example", "DTSTART:20261103T150000Z", "DTEND:20261103T160000Z",
         "SUMMARY:Panel", f"ORGANIZER;CN={investor.full}:mailto:{investor.primary}",
         f"ATTENDEE;CN=Robin Hale;PARTSTAT=DECLINED:mailto:{ME}"],
        ["UID:coffee-jonas@sample.example", "DTSTART;VALUE=DATE:20261111",
         "SUMMARY:Coffee", me_org, me_att,
         "ATTENDEE;CN=Jonas Berg;PARTSTAT=ACCEPTED:mailto:jonas.berg@post.example.net"],
    ]
    tz = ["BEGIN:VTIMEZONE", "TZID:Europe/London",
          "BEGIN:STANDARD", "DTSTART:19701025T020000", "TZOFFSETFROM:+0100",
          "TZOFFSETTO:+0000", "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU", "END:STANDARD",
          "BEGIN:DAYLIGHT", "DTSTART:19700329T010000", "TZOFFSETFROM:+0000",
          "TZOFFSETTO:+0100", "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU", "END:DAYLIGHT",
          "END:VTIMEZONE"]
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//netgarden sample//EN",
             f"X-WR-CALNAME:{ME}", *tz]
    for event in events:
        lines += ["BEGIN:VEVENT", f"DTSTAMP:20261114T090000Z", *event, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    (OUT / "meetings.ics").write_bytes((CRLF.join(lines) + CRLF).encode("utf-8"))
    return len(events)


def main() -> None:
    people, meta = build()
    rng = random.Random(SEED + 1)  # file-level choices, independent of the people above
    cards = write_vcf(people, meta, rng)
    linkedin = write_linkedin(people, rng)
    google = write_google(people, rng)
    interactions = write_interactions(people, rng)
    write_networks()
    overrides = write_overrides(people, meta)
    messages, discovered = write_mbox(people)
    events = write_ics(people)
    in_vcf = sum(1 for p in people if p.in_vcf)
    print(f"contacts.vcf      {cards} cards ({in_vcf} people + 1 group card)")
    print(f"Connections.csv   {linkedin} rows")
    print(f"google.csv        {google} rows")
    print(f"interactions.csv  {interactions} rows")
    print(f"overrides.toml    {len(overrides)} entries")
    print(f"mail.mbox         {messages} messages ({discovered} people in no address book)")
    print(f"meetings.ics      {events} events")


if __name__ == "__main__":
    main()
