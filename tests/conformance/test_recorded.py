"""Every recorded request of the collection's flows, replayed against the sandbox, answers as AWS did.

See :mod:`tests.conformance.recorded` for the facts and their sources. A step whose flow needs an operation the
sandbox does not serve yet is expected to fail (``pending.PENDING``); ``pytest --runxfail`` shows them all, which
is how the count of recorded requests answered as AWS did is measured.
"""

from __future__ import annotations

import re

import pytest
from botocore.model import ListShape, StructureShape

from opptoolkit.sandbox import OPERATIONS
from opptoolkit.schema import service_model

from .pending import DIFFERS, PENDING
from .recorded import Contains, Match, Ref, recorded_steps
from .replay import replay, steps_before


def _names(step) -> set[str]:
    """The ``{name}`` ids a step's request and checks take from earlier answers."""
    refs = {v.name for v in step.values.values() if isinstance(v, Ref)}
    refs |= {v.value.name for v in step.values.values() if isinstance(v, Contains) and isinstance(v.value, Ref)}
    text = repr(step.request) + repr([v.pattern for v in step.values.values() if isinstance(v, Match)])
    return refs | set(re.findall(r"\{(\w+)\}", text))


def _expected_failure(flow, step) -> str | None:
    """Why ``step`` cannot answer as AWS did yet, or None.

    Its operation is not served (``PENDING``) or its answer is known to differ (``DIFFERS``), or it uses an id that
    such a step was to give.
    """
    tainted: dict[str, str] = {}  # name -> why the step that gives it fails
    why: str | None = None
    for s in steps_before(flow, step):
        because = [tainted[n] for n in sorted(_names(s)) if n in tainted]
        if s.operation in PENDING:
            because.insert(0, f"{s.operation}: {PENDING[s.operation]}")
        elif s.example in DIFFERS:
            because.insert(0, f"#{s.example}: {DIFFERS[s.example]}")
        for name in s.binds:
            if because:
                tainted[name] = because[0]
            else:
                tainted.pop(name, None)
        if s is step:
            why = because[0] if because else None
    return why


def _param(flow, step):
    why = _expected_failure(flow, step)
    marks = [pytest.mark.xfail(strict=True, reason=why)] if why else []
    return pytest.param(flow, step, id=f"{flow.name}-{step.example}-{step.operation}", marks=marks)


@pytest.mark.parametrize(("flow", "step"), [_param(f, s) for f, s in recorded_steps()])
def test_recorded_request_answers_as_aws_did(flow, step):
    alternate = step.example if step.alternate_of is not None else None
    outcome = next(o for o in replay(flow.name, alternate) if o.step is step)
    where = f"#{step.example} {flow.folder} / {step.item}"
    assert outcome.outcome == "ok" and not outcome.problems, f"{where}:\n  " + "\n  ".join(outcome.problems)


def test_pending_lists_only_operations_the_sandbox_does_not_serve():
    assert not PENDING.keys() & OPERATIONS, "served now: remove from tests/conformance/pending.py"


def _has(shape, path: str) -> bool:
    for name in path.replace("[]", "").split("."):
        while isinstance(shape, ListShape):
            shape = shape.member
        if not isinstance(shape, StructureShape) or name not in shape.members:
            return False
        shape = shape.members[name]
    return True


def test_the_facts_name_model_operations_and_members():
    # a typo in the facts would otherwise pass as "the sandbox answered it" (a path nobody checks)
    for _, step in recorded_steps():
        assert step.operation in service_model().operation_names, step.operation
        output = service_model().operation_model(step.operation).output_shape
        unknown = [m for m in step.members if not _has(output, m)]
        assert not unknown, f"#{step.example}: not in the model's answer: {unknown}"
