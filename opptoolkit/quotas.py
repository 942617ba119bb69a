"""The Partner Central Selling API's quotas, stated once, and the token bucket that keeps within them.

"Quotas for the AWS Partner Central Selling API"
(https://docs.aws.amazon.com/partner-central/latest/developer-guide/quotas.html), per partner account:
read actions "10 per second; 100,000 per 24 hours", write actions "1 per second; 10,000 per 24 hours";
"Prospecting read actions" GetProspectingFromEngagementTask "100 per second" and
ListProspectingFromEngagementTasks "50 per second", "Prospecting write actions" StartProspectingFromEngagementTask
"2 per second", "Engagement write actions" CreateEngagement "15 per second";
"The daily quotas reset on a rolling 24 hour period"; a call over a quota is answered ``ThrottlingException``.
The client paces itself with these (:class:`opptoolkit.Pacer`, the push's daily write budget) and the
sandbox enforces them (:class:`opptoolkit.sandbox.SandboxConfig`), each operation on the bucket
:func:`quota_of` names.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from collections import deque

from .schema import service_model

__all__ = [
    "ASSOCIATIONS_PER_OPPORTUNITY",
    "DAILY_READS",
    "DAILY_WRITES",
    "OWN_RATES",
    "RATE_VARIABLES",
    "READS_PER_SECOND",
    "READ_ACTIONS",
    "WRITES_PER_SECOND",
    "WRITE_ACTIONS",
    "TokenBucket",
    "quota_of",
    "rates",
]

READS_PER_SECOND = 10.0
WRITES_PER_SECOND = 1.0
DAILY_READS = 100_000
DAILY_WRITES = 10_000
#: The operations the quotas page lists as read actions.
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
#: The operations the quotas page lists as write actions.
WRITE_ACTIONS = frozenset(
    {
        "CreateOpportunity",
        "UpdateOpportunity",
        "AssociateOpportunity",
        "DisassociateOpportunity",
        "RejectEngagementInvitation",
        "AssignOpportunity",
        "StartEngagementFromOpportunityTask",
        "StartEngagementByAcceptingInvitationTask",
    }
)
#: The quotas page's rows of one operation each, with a rate of their own (requests per second; the page states no
#: daily quota for them): those this botocore's model has.
OWN_RATES = {
    op: rate
    for op, rate in {
        "GetProspectingFromEngagementTask": 100.0,
        "ListProspectingFromEngagementTasks": 50.0,
        "StartProspectingFromEngagementTask": 2.0,
        "CreateEngagement": 15.0,
    }.items()
    if op in service_model().operation_names
}
READ, WRITE = "read", "write"
#: The environment variables that set the read and write rates (requests per second) in place of the documented
#: quotas: the rates a client paces at (:class:`opptoolkit.Pacer`, :func:`opptoolkit.connect`) and a sandbox started
#: without a config enforces (:class:`opptoolkit.sandbox.SandboxConfig`), both read by :func:`rates`.
RATE_VARIABLES = ("OPPTOOLKIT_READS_PER_SECOND", "OPPTOOLKIT_WRITES_PER_SECOND")
#: How the name of an operation the page does not list says it only reads (GetEngagement, ListEngagementMembers,
#: SearchOpportunities...).
_READS = re.compile(r"(Get|List|Search)[A-Z]\w*")


def quota_of(operation: str) -> str:
    """Return the quota ``operation`` is paced on: ``"read"``, ``"write"``, or the operation's own (:data:`OWN_RATES`).

    The quotas page's read and write actions, and its rows of one operation each. The page lists none of the other
    operations (the engagement, snapshot and settings operations, SubmitOpportunity...): one whose name says it
    only reads (``Get``, ``List``, ``Search``) is paced with the reads, any other with the writes, the strictest
    rate the page states; so together they never pass a stated quota (our inference: the page states no other).

    Examples
    --------
    >>> quota_of("GetEngagement"), quota_of("UpdateEngagementContext"), quota_of("CreateEngagement")
    ('read', 'write', 'CreateEngagement')
    """
    if operation in READ_ACTIONS:
        return READ
    if operation in WRITE_ACTIONS:
        return WRITE
    if operation in OWN_RATES:
        return operation
    return READ if _READS.fullmatch(operation) else WRITE


def rates() -> tuple[float, float]:
    """Return the read and write rates to keep within, requests per second: the documented quotas (10 and 1).

    Unless the environment sets them (:data:`RATE_VARIABLES`): ``OPPTOOLKIT_READS_PER_SECOND`` and
    ``OPPTOOLKIT_WRITES_PER_SECOND``, read when a pacer or a sandbox's config is made without rates of its own. A
    sandbox started with faster quotas and a client pacing at them then run notebooks, pages and the demo as
    they run against AWS, only sooner (the tests do); an explicit rate (``reads_per_second=``, ``--reads-per-second``)
    still wins. Against AWS, set them only to quotas AWS has granted your account: above them, calls are throttled.

    Raises
    ------
    ValueError
        When a variable is set to anything but a positive number.

    Examples
    --------
    With neither variable set:

    >>> rates()
    (10.0, 1.0)
    """
    reads, writes = RATE_VARIABLES
    return _rate(reads, READS_PER_SECOND), _rate(writes, WRITES_PER_SECOND)


def _rate(name: str, documented: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return documented
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"{name} must be a positive number of requests per second (documented: {documented:g}), not {text!r}"
        )
    return value


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
