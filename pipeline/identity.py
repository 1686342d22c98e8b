"""Identity resolution: which contact records are one person.

Records that share a normalized e-mail address are one person, always. Weaker evidence (a shared
phone, the same name at the same organization) never merges anyone: it only yields a suggestion
with its reason, for the user to confirm.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pipeline.model import HandleKind
from pipeline.normalize import name_key


def resolve(
    contacts: Iterable[tuple[int, str, str]],
    handles: Iterable[tuple[int, HandleKind, str]],
) -> tuple[dict[int, int], list[tuple[int, int, str]]]:
    """Map every contact id to its person id, and list merge suggestions.

    `contacts` are (id, name, organization); `handles` are (contact id, kind, value). A person's
    id is the smallest contact id among its records, so it stays put as records are added.
    Suggestions are (person a, person b, reason) with a < b.
    """
    parent: dict[int, int] = {}

    def find(item: int) -> int:
        root = item
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:
            parent[item], item = root, parent[item]
        return root

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    info: dict[int, tuple[str, str]] = {}
    for contact_id, name, organization in contacts:
        parent[contact_id] = contact_id
        info[contact_id] = (name, organization)
    by_email: dict[str, int] = {}
    phones: dict[str, set[int]] = defaultdict(set)
    for contact_id, kind, value in handles:
        if contact_id not in parent:
            continue
        if kind == "email":
            first = by_email.setdefault(value, contact_id)
            union(first, contact_id)
        elif kind == "phone":
            phones[value].add(contact_id)
    people = {contact_id: find(contact_id) for contact_id in parent}

    suggestions: set[tuple[int, int, str]] = set()

    def suggest(members: Iterable[int], reason: str) -> None:
        persons = sorted({people[m] for m in members})
        for i, a in enumerate(persons):
            for b in persons[i + 1 :]:
                suggestions.add((a, b, reason))

    for value, members in phones.items():
        if len(members) > 1:
            suggest(members, f"same phone {value}")
    by_name_org: dict[tuple[str, str], list[int]] = defaultdict(list)
    for contact_id, (name, organization) in info.items():
        org = name_key(organization)
        if org:
            by_name_org[(name_key(name), org)].append(contact_id)
    for (_, _), members in by_name_org.items():
        if len(members) > 1:
            first_name, first_org = info[members[0]]
            suggest(members, f"same name and organization ({first_name}, {first_org})")
    return people, sorted(suggestions)
