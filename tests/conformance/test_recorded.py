"""Every recorded request of the collection's flows, replayed against the sandbox, answers as AWS did.

See :mod:`tests.conformance.recorded` for the facts and their sources. A step whose flow needs an operation the
sandbox does not serve yet is expected to fail (``pending.PENDING``); ``pytest --runxfail`` shows them all, which
is how the count of recorded requests answered as AWS did is measured.
"""

from __future__ import annotations

import pytest
from botocore.model import ListShape, StructureShape

from opptoolkit.sandbox import OPERATIONS
from opptoolkit.schema import service_model

from .pending import DIFFERS, PENDING
from .recorded import recorded_steps
from .replay import replay, steps_before


def _param(flow, step):
    needs = sorted({s.operation for s in steps_before(flow, step)} & PENDING.keys())
    marks = [pytest.mark.xfail(strict=True, reason=f"{', '.join(needs)}: {PENDING[needs[0]]}")] if needs else []
    if not needs and step.example in DIFFERS:
        marks = [pytest.mark.xfail(strict=True, reason=DIFFERS[step.example])]
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
