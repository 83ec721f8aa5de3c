"""ChannelBudget: Slack's "1 per second, short bursts allowed", with parents first.

Each table is a sequence of (time, kind, expected wait) on one channel; a post that may
go (wait 0) is spent at once, as if Slack answered instantly.
"""

from __future__ import annotations

import pytest

from bot.pacing import ChannelBudget

P, R = "parent", "reply"
Step = tuple[float, str, float]


def _run(budget: ChannelBudget, steps: list[Step]) -> list[float]:
    waits = []
    for now, kind, _ in steps:
        wait = budget.wait(now, parent=kind == P)
        waits.append(round(wait, 6))
        if wait == 0:
            budget.spend(now)
    return waits


TABLES: dict[str, tuple[int, list[Step]]] = {
    "burst 1 is strict one a second, whatever the kind": (
        1,
        [(0.0, P, 0), (0.0, R, 1.0), (0.4, P, 0.6), (1.0, R, 0), (1.5, P, 0.5), (2.0, P, 0)],
    ),
    "burst 2: two parents back to back, the third waits": (
        2,
        [(0.0, P, 0), (0.0, P, 0), (0.0, P, 1.0), (1.0, P, 0), (1.0, P, 1.0)],
    ),
    "burst 2: a reply leaves a token for the next parent": (
        2,
        [(0.0, P, 0), (0.0, R, 1.0), (0.3, P, 0), (0.3, R, 1.7), (2.0, R, 0), (2.2, P, 0)],
    ),
    "burst 2: a reply on a full bucket goes, and so does the parent after it": (
        2,
        [(0.0, R, 0), (0.0, P, 0), (0.0, P, 1.0), (0.0, R, 2.0)],
    ),
    "burst 2: replies alone go one a second once parents stop": (
        2,
        [(0.0, P, 0), (0.0, P, 0), (0.0, R, 2.0), (2.0, R, 0), (2.0, R, 1.0), (3.0, R, 0)],
    ),
    "burst 3: three at once, replies keep one back": (
        3,
        [(0.0, R, 0), (0.0, R, 0), (0.0, R, 1.0), (0.0, P, 0), (0.0, P, 1.0)],
    ),
    "an idle channel refills only up to the burst": (
        2,
        [(0.0, P, 0), (100.0, P, 0), (100.0, P, 0), (100.0, P, 1.0)],
    ),
}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_pacing_table(name: str) -> None:
    burst, steps = TABLES[name]
    assert _run(ChannelBudget(1.0, burst), steps) == [wait for _, _, wait in steps]


@pytest.mark.parametrize("burst", [1, 2, 3, 5])
def test_sustained_rate_never_exceeds_one_per_interval(burst: int) -> None:
    budget = ChannelBudget(1.0, burst)
    posted: list[float] = []
    now = 0.0
    # A parent and a reply offered every 0.25 s for a minute, each going as soon as allowed.
    while now < 60.0:
        for parent in (True, False):
            if budget.wait(now, parent=parent) == 0:
                budget.spend(now)
                posted.append(now)
        now += 0.25
    for i, start in enumerate(posted):
        in_window = [t for t in posted[i:] if t - start < 10.0]
        assert len(in_window) <= burst + 9, start  # at most burst + elapsed / interval
    assert max(sum(1 for t in posted if s <= t < s + 1.0) for s in posted) <= burst


def test_spending_at_the_answer_counts_from_the_answer() -> None:
    budget = ChannelBudget(1.0, 1)
    assert budget.wait(0.0, parent=True) == 0
    budget.spend(0.3)  # the post was sent at 0.0 and answered at 0.3
    assert budget.wait(1.0, parent=True) == pytest.approx(0.3)


def test_a_429_empties_the_bucket() -> None:
    budget = ChannelBudget(1.0, 2)
    budget.exhaust(5.0)
    assert budget.tokens(5.0) == 0
    assert budget.wait(5.0, parent=True) == pytest.approx(1.0)
    assert budget.wait(5.0, parent=False) == pytest.approx(2.0)
    assert budget.tokens(7.0) == 2


def test_no_interval_never_waits() -> None:
    budget = ChannelBudget(0.0, 1)
    for _ in range(5):
        assert budget.wait(0.0, parent=False) == 0
        budget.spend(0.0)


def test_burst_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="burst"):
        ChannelBudget(1.0, 0)
