"""How many messages a channel may take now: Slack's rate rule as a token bucket.

Slack's rate-limit page: "Posting messages: 1 per second. Short bursts >1 allowed."
So a channel earns one token every `interval` seconds, keeps at most `burst`, and a
post spends one. A new alert's parent may spend the last token; anything else (thread
replies above all) must leave one in reserve, so that the parent of the next alert never
waits behind the previous alert's findings. Over any stretch, posts stay within
`burst + elapsed / interval`: the sustained rate never exceeds one per `interval`.

The bucket is kept as the time it will be full again (the generic cell rate algorithm):
no running token count drifts, and with `burst = 1` the rule is exactly "wait
`interval` after the last post", what the notifier did before bursts were allowed.
"""

from __future__ import annotations

import math


class ChannelBudget:
    """One channel's token bucket; times are seconds on any monotonic clock."""

    def __init__(self, interval: float, burst: int = 1) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.interval = max(0.0, interval)
        self.burst = burst
        # A thread reply keeps one token for a parent, when there is more than one to keep.
        self._reply_needs = 2 if burst >= 2 else 1
        self._full_at = -math.inf

    def tokens(self, now: float) -> float:
        """Tokens available at `now` (fractions count towards the next one)."""
        if self.interval == 0:
            return float(self.burst)
        return max(0.0, self.burst - max(0.0, self._full_at - now) / self.interval)

    def wait(self, now: float, *, parent: bool) -> float:
        """Seconds until a post of this kind may go; 0.0 means now."""
        needs = 1 if parent else self._reply_needs
        # `needs` tokens are there once the bucket lacks at most `burst - needs` of them.
        return max(0.0, self._full_at - (self.burst - needs) * self.interval - now)

    def spend(self, now: float) -> None:
        """Take a token for a post; call it when Slack's answer arrives (or the call failed).

        Spending at the answer rather than the request errs on the safe side: the gap
        Slack sees between two posts is never shorter than the one counted here.
        """
        self._full_at = max(self._full_at, now) + self.interval

    def exhaust(self, now: float) -> None:
        """Slack said 429: count the bucket as empty from `now`."""
        self._full_at = max(self._full_at, now + self.burst * self.interval)
