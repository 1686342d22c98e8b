"""Identity resolution: which contact records are one person.

Records that share a normalized e-mail address are one person, always. Weaker evidence (a shared
phone, the same name at the same organization) never merges anyone: it only yields a suggestion
with its reason, for the user to confirm. The store finds those groups; this module pairs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

#: A phone (or name at an organization) shared by more people than this is a switchboard or a
#: common name, not evidence that they are one person; it yields no suggestion.
MAX_SUGGESTION_GROUP = 3


def resolve(links: Iterable[tuple[int, int]]) -> dict[int, int]:
    """The person id of every contact record that is linked to another one.

    `links` are pairs of contact ids that are one person (a shared e-mail, a merge the user
    confirmed). A person's id is the smallest contact id among its records, so it stays put as
    records are added; a record linked to nothing is its own person and is not listed.
    """
    parent: dict[int, int] = {}

    def find(item: int) -> int:
        root = parent.setdefault(item, item)
        while parent[root] != root:
            root = parent[root]
        while parent[item] != root:
            parent[item], item = root, parent[item]
        return root

    for a, b in links:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {contact_id: find(contact_id) for contact_id in parent}


def suggestion_pairs(groups: Iterable[tuple[str, str]]) -> Iterator[tuple[int, int, str]]:
    """(person a, person b, reason) with a < b for every pair of each group.

    `groups` are (reason, comma-separated person ids) as SQLite's group_concat writes them.
    """
    for reason, members in groups:
        persons = sorted({int(m) for m in members.split(",")})
        for i, a in enumerate(persons):
            for b in persons[i + 1 :]:
                yield a, b, reason


#: How alike two names must be (0-100, rapidfuzz's token-set ratio) to be suggested as one.
SIMILAR = 88
#: A place (an organization, an e-mail domain) shared by more people than this says too little
#: to compare every pair of them.
_MAX_PLACE = 300


def similar_pairs(
    entries: Iterable[tuple[int, str, tuple[str, ...]]],
) -> Iterator[tuple[int, int, str]]:
    """(person a, person b, reason) with a < b for people whose names are close but not equal (a
    typo, a missing middle name, accents, initials) and who share a place: an organization or
    an e-mail domain. `entries` are (person id, name, places), places already normalized."""
    from rapidfuzz import fuzz

    from pipeline.normalize import name_key

    by_place: dict[str, list[tuple[int, str, str]]] = {}
    for person, name, places in entries:
        key = name_key(name)
        if not key:
            continue
        for place in places:
            by_place.setdefault(place, []).append((person, name, key))
    seen: set[tuple[int, int]] = set()
    for place, members in sorted(by_place.items()):
        if len(members) > _MAX_PLACE:
            continue
        for i, (a, name_a, key_a) in enumerate(members):
            for b, name_b, key_b in members[i + 1 :]:
                pair = (min(a, b), max(a, b))
                if a == b or pair in seen:
                    continue
                score = max(fuzz.token_set_ratio(key_a, key_b), _initials(key_a, key_b))
                if score >= SIMILAR and key_a != key_b:
                    seen.add(pair)
                    yield (
                        *pair,
                        f"similar names ({score:.0f}/100): {name_a} and {name_b}, both at {place}",
                    )


def _initials(a: str, b: str) -> float:
    """90 when the names are the same but for initials (`j smith` and `john smith`)."""
    left, right = a.split(), b.split()
    if len(left) != len(right) or left == right:
        return 0.0
    for x, y in zip(left, right, strict=True):
        if x != y and not ((len(x) == 1 and y.startswith(x)) or (len(y) == 1 and x.startswith(y))):
            return 0.0
    return 90.0
