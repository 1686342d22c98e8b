"""Rules learnt from the decisions a user took by hand: the e-mail domains, organizations and
labels whose decided people (all or nearly all) went to one network, as `[[rules]]` tables
ready to append to networks.toml. Pure: people and decisions in, proposals and TOML out."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from pipeline.model import Person
from pipeline.normalize import email_domain
from rules.engine import Assignment
from rules.overrides import Overrides
from rules.schema import UNASSIGNED

#: "Nearly all": the share of a feature's decided people that must be in one network.
AGREEMENT = 0.9
#: Mail providers anyone can use say nothing about where someone belongs.
_FREE_MAIL = frozenset(
    {"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com",
     "icloud.com", "me.com", "aol.com", "gmx.de", "gmx.net", "web.de", "proton.me",
     "protonmail.com", "fastmail.com", "mail.com", "qq.com", "163.com", "yandex.ru"}
)  # fmt: skip


@dataclass(frozen=True)
class Proposal:
    """A rule: people with `value` of `key` go to `network`. `agree` decisions would have been
    made by it, `contradict` decisions sent such people elsewhere, and it would `newly` place
    that many people no rule or decision places now."""

    network: str
    key: str
    value: str
    agree: int
    contradict: int
    newly: int


_FEATURES: dict[str, Callable[[Person], set[str]]] = {
    "email_domain": lambda p: {
        d for d in (email_domain(e) for e in p.emails) if d not in _FREE_MAIL
    },
    "organization": lambda p: {p.organization} if p.organization else set(),
    "label": lambda p: set(p.labels),
}


def propose(
    people: Sequence[Person],
    overrides: Overrides,
    assignments: Mapping[int, Assignment],
    networks: Iterable[str],
    min_people: int = 3,
) -> list[Proposal]:
    """Rules that would have made the user's decisions: for each feature (domain,
    organization, label) with at least `min_people` decided people, nearly all in one network.
    Most decisions explained first."""
    wanted = set(networks)
    decided: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    undecided: Counter[tuple[str, str]] = Counter()
    for person in people:
        decision = overrides.of(person)
        features = [(key, value) for key, get in _FEATURES.items() for value in get(person)]
        if decision is not None and decision.network in wanted:
            for feature in features:
                decided[feature][decision.network] += 1
        elif decision is None and assignments[person.contact_id].network == UNASSIGNED:
            undecided.update(features)
    found: list[Proposal] = []
    for (key, value), counts in decided.items():
        network, agree = counts.most_common(1)[0]
        total = sum(counts.values())
        if agree >= min_people and agree >= AGREEMENT * total:
            found.append(
                Proposal(network, key, value, agree, total - agree, undecided[(key, value)])
            )
    found.sort(key=lambda p: (-p.agree, p.contradict, p.network, p.key, p.value))
    return found


def as_toml(proposals: Sequence[Proposal], taken: Iterable[str] = ()) -> str:
    """The proposals as `[[rules]]` tables with their counts as comments (valid TOML, to
    append to networks.toml); ids are new ones, never one of `taken`."""
    used = set(taken)
    out = [
        f"# {len(proposals)} rules learnt from your decisions (netgarden rules suggest):",
        "# append the ones you agree with to networks.toml, then `netgarden rules check`.",
    ]
    for proposal in proposals:
        slug = re.sub(r"[^a-z0-9]+", "-", proposal.value.lower()).strip("-") or "x"
        base = f"{proposal.network}-by-{proposal.key.replace('_', '-')}-{slug}"
        rule_id, n = base, 2
        while rule_id in used:
            rule_id, n = f"{base}-{n}", n + 1
        used.add(rule_id)
        value = proposal.value
        if proposal.key == "organization":
            value = "^" + re.escape(value) + "$"  # the whole organization, case-insensitive
        agree = f"{proposal.agree} decision{'s' if proposal.agree != 1 else ''} agree"
        out += [
            "",
            f"# {agree}, {proposal.contradict} contradict; "
            f"it would newly place {proposal.newly} people",
            "[[rules]]",
            f"id = {json.dumps(rule_id)}",
            f"network = {json.dumps(proposal.network)}",
            f"when = {{ {proposal.key} = [{json.dumps(value, ensure_ascii=False)}] }}",
        ]
    return "\n".join(out) + "\n"
