"""Relationship strength and the ladder, on cases a person would agree with."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.model import History, InteractionSummary
from pipeline.strength import Ladder, climb, strength

END = datetime(2026, 11, 16, tzinfo=UTC)  # the first instant after a report date


def _every(days: int, span: int, channel: str = "email", direction: str = "mutual",
           offset: int = 1) -> list[InteractionSummary]:  # fmt: skip
    """An exchange every `days` days over the last `span` days before END."""
    return [
        InteractionSummary(END - timedelta(days=d), direction, channel, "csv")  # type: ignore[arg-type]
        for d in range(offset, span, days)
    ]


def _alternating(days: int, span: int) -> list[InteractionSummary]:
    """Mail both ways in turn, every `days` days."""
    return [
        InteractionSummary(
            END - timedelta(days=d), "outbound" if i % 2 else "inbound", "email", "mbox"
        )
        for i, d in enumerate(range(1, span, days))
    ]


def _of(exchanges: list[InteractionSummary]) -> int:
    return strength(History.of(exchanges), END)


def test_a_weekly_two_way_exchange_outranks_a_monthly_one() -> None:
    weekly, monthly = _of(_alternating(7, 365)), _of(_alternating(30, 365))
    assert weekly > monthly > 11
    assert weekly >= 80  # near the top
    assert _of(_every(7, 365, "call")) > _of(_every(30, 365, "call"))


def test_one_way_mail_scores_below_any_two_way_relationship() -> None:
    newsletter = _of(_every(1, 700, direction="inbound"))  # daily, for two years
    cold = _of(_every(3, 365, direction="outbound"))  # mail that is never answered
    faint = _of(
        [
            InteractionSummary(END - timedelta(days=3000), "outbound", "email", "mbox"),
            InteractionSummary(END - timedelta(days=2990), "inbound", "email", "mbox"),
        ]
    )  # one exchange each way, eight years ago
    linkedin = _of(_every(400, 401, "linkedin"))
    assert max(newsletter, cold) <= 10
    assert min(faint, linkedin) > max(newsletter, cold)


def test_a_meeting_last_week_outranks_ten_emails_two_years_ago() -> None:
    meeting = _of([InteractionSummary(END - timedelta(days=7), "mutual", "meeting", "ics")])
    old = _of(
        [
            InteractionSummary(
                END - timedelta(days=730 + d), "outbound" if d % 2 else "inbound", "email", "mbox"
            )
            for d in range(10)
        ]
    )
    assert meeting > old


def test_the_ladder_weighs_a_meal_above_a_meeting_above_a_call_above_an_email() -> None:
    scores = [_of(_every(45, 365, channel)) for channel in ("email", "call", "meeting", "coffee")]
    assert scores == sorted(scores) and len(set(scores)) == 4


@pytest.mark.parametrize("seed", range(30))
def test_strength_stays_in_range_and_ignores_exchanges_after_the_date(seed: int) -> None:
    rng = random.Random(seed)
    channels = ["email", "call", "coffee", "linkedin", "meeting", "made-up"]
    exchanges = [
        InteractionSummary(
            END - timedelta(days=rng.uniform(0, 3000)),
            rng.choice(["outbound", "inbound", "mutual"]),  # type: ignore[arg-type]
            rng.choice(channels),
            "csv",
        )
        for _ in range(rng.randrange(0, 400))
    ]
    later = [
        InteractionSummary(END + timedelta(days=rng.uniform(0, 30)), "mutual", "coffee", "csv")
        for _ in range(rng.randrange(1, 50))
    ]
    alone = strength(History.of(exchanges), END)
    assert 0 <= alone <= 100
    # The store holds later exchanges too: as of the date, the history does not see them.
    kept = History.of(exchanges + later).until(END)
    assert kept is not None
    assert strength(kept, END) == alone


def test_no_exchange_is_no_strength() -> None:
    assert strength(History(), END) == 0
    assert climb(History(), END).step == "never in touch: write to introduce yourself"


def test_the_next_step_climbs_from_the_highest_rung_reached_lately() -> None:
    mails = climb(History.of(_alternating(20, 60)), END)
    assert (mails.rung, mails.count) == ("e-mail", 3)
    assert mails.step == "three e-mails since October: propose a call"
    one_way = climb(History.of(_every(20, 60, direction="outbound")), END)
    assert one_way.rung == "connection"
    assert one_way.step.endswith("write something personal and get a reply")
    coffee = climb(History.of(_alternating(20, 60) + _every(50, 51, "coffee", offset=40)), END)
    assert coffee.step == "a coffee or meal in October: keep it up with another coffee or meal"
    quiet = climb(History.of(_every(1, 401, "call", offset=400)), END)
    assert quiet.rung is None and quiet.step == "quiet since October 2025 (call): write to catch up"


def test_channels_move_between_rungs_by_settings() -> None:
    ladder = Ladder.of({"meal": ["coffee", "beer"], "call": ["call", "huddle"]})
    assert ladder.rung("Beer") == ladder.rung("coffee") == 4
    assert ladder.rung("huddle") == 2 and ladder.rung("zoom") == 1  # off its rung: an e-mail
    history = History.of(_every(30, 200, "huddle"))
    assert climb(history, END, ladder).rung == "call"
    assert strength(history, END, ladder) > strength(history, END)
