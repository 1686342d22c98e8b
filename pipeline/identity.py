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
