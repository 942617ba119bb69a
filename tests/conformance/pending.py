"""Operations of the recorded flows that the sandbox does not serve yet, with why.

One place: a recorded step whose flow needs one of these is expected to fail (``xfail(strict=True)``).
Whoever lands an operation removes it here in the same commit; ``test_pending_is_not_served`` fails while
a served operation is still listed.
"""

from __future__ import annotations

#: operation -> why its recorded steps cannot answer as AWS did yet
PENDING: dict[str, str] = {}

#: Recorded steps on served operations that do not answer as AWS did yet, by example: the sandbox work of issue #29
#: still to do. Removed one by one as the sandbox is fixed (strict: a step that passes while listed fails).
DIFFERS: dict[int, str] = {}
