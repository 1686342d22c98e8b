"""How strong a relationship is, and the next step up its ladder: pure functions of a person's
history as of a report date.

The ladder is the strategy's "each meeting slightly more important than the previous one":
from a LinkedIn connection or a one-way e-mail, to a two-way e-mail, a call, a meeting, a meal or
coffee. Each channel an exchange can have sits on a rung (`Ladder`, settings with defaults),
and a rung weighs what an exchange on it is worth to a relationship.

`strength` (0-100), as the README states it:

    A = sum over the exchanges of the year before the date of weight(rung) * 0.5 ** (age / 90 d)
        + the older exchanges, each as old as the middle of their span, weighted 1
    activity = 1 - exp(-A / 8)
    balance = (mutual + 2 * min(outbound, inbound)) / total     (1: reciprocal, 0: one way)
    two-way (ever, as of the date):  strength = 11 + round(89 * activity * (0.4 + 0.6 * balance))
    one-way only:                    strength = round(10 * activity)

Why: a half-life of 90 days makes last month count more than last year without forgetting last
year; the weights put a meal above a meeting above a call above an e-mail above a connection; A
saturates, so a weekly exchange is near the top and a monthly one in the middle; and one-way
mail (newsletters, cold outreach, unanswered mail) never makes a relationship: it stays within
0-10, under any relationship that was ever two-way (11-100).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pipeline.model import History, cached_micros, from_micros, micros

#: The rungs, lowest first.
RUNGS: tuple[str, ...] = ("connection", "e-mail", "call", "meeting", "meal")
#: What an exchange on each rung weighs in `strength`.
RUNG_WEIGHTS: Mapping[str, float] = {
    "connection": 0.25,
    "e-mail": 1.0,
    "call": 2.0,
    "meeting": 3.0,
    "meal": 4.0,
}
#: Which channels sit on which rung, by default (config.toml's [ladder] replaces a rung's list).
#: `email` is the e-mail rung only when mail went both ways; one way, it is a connection. A
#: channel on no rung (`manual`, a name of the user's own) counts as an e-mail.
DEFAULT_LADDER: Mapping[str, tuple[str, ...]] = {
    "connection": ("linkedin", "connection", "newsletter"),
    "e-mail": ("email", "message", "chat", "sms", "text", "whatsapp", "signal", "manual"),
    "call": ("call", "phone", "video", "zoom", "teams", "facetime"),
    "meeting": ("meeting", "event", "conference", "visit"),
    "meal": ("coffee", "lunch", "dinner", "breakfast", "drinks", "meal"),
}

HALF_LIFE = timedelta(days=90)
#: Exchanges up to this far back are counted one by one (a history as of any date holds them
#: all: see model.REACH); older ones by their number and span.
WINDOW = timedelta(days=365)
#: "Recently", for the highest rung reached and the next step.
RECENTLY = timedelta(days=183)
SATURATION = 8.0
ONE_WAY_CAP = 10

_HALF_LIFE_US = HALF_LIFE / timedelta(microseconds=1)
_WINDOW_US = WINDOW // timedelta(microseconds=1)
_RECENTLY_US = RECENTLY // timedelta(microseconds=1)
_OUTBOUND, _INBOUND, _MUTUAL = 0, 1, 2  # model's direction codes
_EMAIL = RUNGS.index("e-mail")
_CONNECTION = RUNGS.index("connection")


@dataclass(frozen=True)
class Ladder:
    """Which rung each channel sits on (lowercase channel names)."""

    rungs: Mapping[str, int]
    #: `weights` already worked out, by word list (not part of what the ladder is).
    known: dict[tuple[str, ...], list[float]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, overrides: Mapping[str, Sequence[str]]) -> Ladder:
        """The default ladder with the rungs named in `overrides` given these channels
        instead (a channel named on a new rung leaves its old one)."""
        lists = {rung: tuple(DEFAULT_LADDER[rung]) for rung in RUNGS}
        moved = {c.lower() for channels in overrides.values() for c in channels}
        for rung in RUNGS:
            if rung in overrides:
                lists[rung] = tuple(c.lower() for c in overrides[rung])
            else:
                lists[rung] = tuple(c for c in lists[rung] if c not in moved)
        return cls({c: RUNGS.index(r) for r, cs in lists.items() for c in cs})

    def rung(self, channel: str) -> int:
        """The rung of a channel (an unknown one: the e-mail rung)."""
        return self.rungs.get(channel.lower(), _EMAIL)

    def weights(self, words: tuple[str, ...]) -> list[float]:
        """The weight of each of a timeline's words taken as a channel. A hundred thousand
        people share a few word lists (pipeline.store decodes each once): each is worked out
        once."""
        found = self.known.get(words)
        if found is None:
            found = self.known[words] = [RUNG_WEIGHTS[RUNGS[self.rung(w)]] for w in words]
        return found


DEFAULT = Ladder.of({})


def two_way(history: History) -> bool:
    """Whether the relationship was ever reciprocal (as of the history's date)."""
    return history.mutual > 0 or (history.outbound > 0 and history.inbound > 0)


def strength(history: History, end: datetime, ladder: Ladder = DEFAULT) -> int:
    """The relationship's strength, 0-100, as of `end` (the first instant after the report
    date); `history` must be as of it (`History.until`): later exchanges do not count."""
    if history.total == 0 or history.last is None:
        return 0
    recent = history.recent
    end_us = cached_micros(end)
    start = recent.before_micros(end_us - _WINDOW_US)
    stop = recent.before_micros(end_us)
    total = 0.0
    scale = -1.0 / _HALF_LIFE_US
    if stop > start:
        weights = ladder.weights(recent.words)
        channels = recent.codes[3 * start + 1 : 3 * stop : 3]
        total = sum(
            [
                weights[channel] * 2.0 ** ((end_us - moment) * scale)
                for moment, channel in zip(recent.moments[start:stop], channels, strict=True)
            ]
        )
    older = history.total - (stop - start)
    if older > 0 and history.first is not None:
        edge = end_us - _WINDOW_US
        middle = (min(micros(history.first), edge) + edge) / 2
        total += older * 2.0 ** ((end_us - middle) * scale)
    activity = 1.0 - math.exp(-total / SATURATION)
    if not two_way(history):
        return round(ONE_WAY_CAP * activity)
    balance = (history.mutual + 2 * min(history.outbound, history.inbound)) / history.total
    return ONE_WAY_CAP + 1 + round((99 - ONE_WAY_CAP) * activity * (0.4 + 0.6 * balance))


@dataclass(frozen=True)
class Climb:
    """Where a relationship stands on the ladder lately, and the step to propose."""

    rung: str | None  # the highest rung reached in the last RECENTLY (None: nothing lately)
    count: int  # exchanges on that rung lately
    since: datetime | None  # the first of them
    step: str  # what to propose next, in words


_NOUNS = {
    "connection": ("one-way message", "one-way messages"),
    "e-mail": ("e-mail", "e-mails"),
    "call": ("call", "calls"),
    "meeting": ("meeting", "meetings"),
    "meal": ("coffee or meal", "coffees or meals"),
}
_PROPOSE = {
    "connection": "write something personal and get a reply",
    "e-mail": "propose a call",
    "call": "propose a meeting",
    "meeting": "propose a coffee or a meal",
    "meal": "keep it up with another coffee or meal",
}
_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def _count(n: int, rung: str) -> str:
    singular, plural = _NOUNS[rung]
    number = _WORDS[n] if n < len(_WORDS) else f"{n:,}"
    if n == 1:
        return f"{'an' if singular.startswith('e-') else 'a'} {singular}"
    return f"{number} {plural}"


def climb(history: History, end: datetime, ladder: Ladder = DEFAULT) -> Climb:
    """The highest rung of the last RECENTLY before `end` and the next step from it."""
    last = history.last
    if last is None:
        return Climb(None, 0, None, "never in touch: write to introduce yourself")
    recent = history.recent
    end_us = micros(end)
    start = recent.before_micros(end_us - _RECENTLY_US)
    stop = recent.before_micros(end_us)
    if start >= stop:
        return Climb(
            None, 0, None, f"quiet since {last.at:%B %Y} ({last.channel}): write to catch up"
        )
    codes, words, moments = recent.codes, recent.words, recent.moments
    rungs = [ladder.rung(word) for word in words]
    seen_out = seen_in = False
    for i in range(start, stop):
        if rungs[codes[3 * i + 1]] == _EMAIL:
            direction = codes[3 * i]
            seen_out |= direction in (_OUTBOUND, _MUTUAL)
            seen_in |= direction in (_INBOUND, _MUTUAL)
    mail_rung = _EMAIL if seen_out and seen_in else _CONNECTION
    best, count, first = -1, 0, 0
    for i in range(start, stop):
        rung = rungs[codes[3 * i + 1]]
        if rung == _EMAIL:
            rung = mail_rung
        if rung > best:
            best, count, first = rung, 1, moments[i]
        elif rung == best:
            count += 1
    name = RUNGS[best]
    since = from_micros(first)
    when = f"in {since:%B}" if count == 1 else f"since {since:%B}"
    return Climb(name, count, since, f"{_count(count, name)} {when}: {_PROPOSE[name]}")
