"""The Partner Central Selling API's quotas, stated once, and the token bucket that keeps within them.

"Quotas for the AWS Partner Central Selling API"
(https://docs.aws.amazon.com/partner-central/latest/developer-guide/quotas.html), per partner account:
read actions "10 per second; 100,000 per 24 hours", write actions "1 per second; 10,000 per 24 hours";
"The daily quotas reset on a rolling 24 hour period"; a call over a quota is answered ``ThrottlingException``.
The client paces itself with these (:class:`opptoolkit.Pacer`, the push's daily write budget) and the
sandbox enforces them (:class:`opptoolkit.sandbox.SandboxConfig`).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from .schema import service_model

__all__ = [
    "ASSOCIATIONS_PER_OPPORTUNITY",
    "DAILY_READS",
    "DAILY_WRITES",
    "READS_PER_SECOND",
    "READ_ACTIONS",
    "WRITES_PER_SECOND",
    "TokenBucket",
]

READS_PER_SECOND = 10.0
WRITES_PER_SECOND = 1.0
DAILY_READS = 100_000
DAILY_WRITES = 10_000
#: The operations the quotas page lists as read actions; every other operation of the API is paced as a write.
READ_ACTIONS = frozenset(
    {
        "GetOpportunity",
        "GetAwsOpportunitySummary",
        "ListOpportunities",
        "ListSolutions",
        "GetEngagementInvitation",
        "ListEngagementInvitations",
    }
)
assert READ_ACTIONS.issubset(service_model().operation_names), READ_ACTIONS
_DAY = 86_400.0  # seconds in the rolling window


class TokenBucket:
    """``rate`` requests per second, at most ``burst`` back to back; thread-safe.

    With ``daily``, at most that many per rolling 24 hours.

    :meth:`acquire` waits for its turn (a client pacing itself); :meth:`take` answers at once (a
    service that throttles).

    Examples
    --------
    >>> b = TokenBucket(rate=1.0, burst=1.0, daily=1)
    >>> b.take(), b.take()
    (None, 'daily quota of 1 requests exceeded')
    """

    def __init__(self, rate: float, burst: float, daily: int | None = None) -> None:
        self.rate, self.burst, self.daily = rate, burst, daily
        self.tokens = burst
        self.stamp = time.monotonic()
        self.day: deque[float] = deque()  # when each request of the last 24 h went (with ``daily`` only)
        self.lock = threading.Lock()

    def _refill(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        while self.day and now - self.day[0] > _DAY:
            self.day.popleft()
        return now

    def _spend(self, now: float) -> None:
        self.tokens -= 1
        if self.daily is not None:
            self.day.append(now)

    def take(self) -> str | None:
        """None when a request may go now (and it is counted), else why it is throttled."""
        with self.lock:
            now = self._refill()
            if self.daily is not None and len(self.day) >= self.daily:
                return f"daily quota of {self.daily} requests exceeded"
            if self.tokens < 1:
                return f"rate exceeded ({self.rate:g} requests per second)"
            self._spend(now)
            return None

    def spent(self, ago: float) -> None:
        """Count a request that went ``ago`` seconds ago elsewhere (another process, an earlier run).

        The bucket then holds no more than the service's would have refilled since: taken as empty just after
        that request, which is the most it can be.
        """
        with self.lock:
            self._refill()
            self.tokens = min(self.tokens, max(0.0, ago) * self.rate)

    def acquire(self) -> float:
        """Block until a request may go (and count it); returns the seconds waited."""
        waited = 0.0
        while True:
            with self.lock:
                now = self._refill()
                if self.daily is not None and len(self.day) >= self.daily:
                    delay = _DAY - (now - self.day[0])
                elif self.tokens >= 1:
                    self._spend(now)
                    return waited
                else:
                    delay = (1 - self.tokens) / self.rate
            time.sleep(delay)
            waited += delay


#: "Association quotas per opportunity" (quotas page, above): "AWS products 20 per opportunity", "Partner
#: Solutions 10 per opportunity", "AWS Marketplace solutions 10 per opportunity", "AWS Marketplace products 10 per
#: opportunity", "AWS Marketplace private offers 1 per opportunity"; keyed by the model's ``RelatedEntityType``
#: value each names. The page states none for AWS Marketplace offer sets.
ASSOCIATIONS_PER_OPPORTUNITY = {
    "AwsProducts": 20,
    "Solutions": 10,
    "AwsMarketplaceSolutions": 10,
    "AwsMarketplaceProducts": 10,
    "AwsMarketplaceOffers": 1,
}
assert set(ASSOCIATIONS_PER_OPPORTUNITY) <= set(service_model().shape_for("RelatedEntityType").enum)  # type: ignore[attr-defined]
