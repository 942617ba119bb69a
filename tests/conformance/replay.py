"""Replay a recorded flow against a fresh sandbox over HTTP with a real boto3 client, and compare with AWS's answers.

Each step's request is the recorded one with its ``{name}`` ids taken from the sandbox's own earlier answers, its
nulls and the members the model does not have left out (boto3 sends neither; AWS ignored them). Its answer is
read as boto3 parses it (for the ids) and as the raw JSON the sandbox sent (for the member names, null-valued
ones included).
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError
from botocore.model import ListShape, Shape, StructureShape

from opptoolkit.sandbox import Sandbox, SandboxConfig
from opptoolkit.wire import input_shape

from .recorded import FLOWS, Contains, Flow, Match, Ref, Step

_NAME = re.compile(r"\{(\w+)\}")


@dataclass
class Outcome:
    step: Step
    outcome: str = "ok"  # "ok" or the error code the sandbox answered
    problems: list[str] = field(default_factory=list)
    raw: Any = None


class Unbound(KeyError):
    pass


def _substitute(value: Any, names: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, names) for v in value]
    if isinstance(value, str):
        whole = _NAME.fullmatch(value)
        if whole:
            if whole.group(1) not in names:
                raise Unbound(whole.group(1))
            return names[whole.group(1)]
        for name in _NAME.findall(value):
            if name not in names:
                raise Unbound(name)
        return _NAME.sub(lambda m: str(names[m.group(1)]), value)
    return value


def _sendable(value: Any, shape: Shape) -> Any:
    """``value`` as boto3 can send it: no nulls, no member the model's shape does not have."""
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        return {k: _sendable(v, shape.members[k]) for k, v in value.items() if v is not None and k in shape.members}
    if isinstance(shape, ListShape) and isinstance(value, list):
        return [_sendable(v, shape.member) for v in value if v is not None]
    return value


def member_paths(value: Any, prefix: str = "") -> tuple[set[str], set[str]]:
    """(the member paths of a JSON answer, the paths whose value is null or an empty list)."""
    paths: set[str] = set()
    empty: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            p = f"{prefix}.{k}" if prefix else k
            paths.add(p)
            if v is None or v == []:
                empty.add(p)
            elif isinstance(v, dict):
                sub, sub_empty = member_paths(v, p)
                paths |= sub
                empty |= sub_empty
            elif isinstance(v, list) and isinstance(v[0], dict):
                for item in v:
                    sub, sub_empty = member_paths(item, p + "[]")
                    paths |= sub
                    empty |= sub_empty
    return paths, empty


def _covered(path: str, paths: set[str], empty: set[str]) -> bool:
    """Whether the sandbox answered ``path``, or left a member above it null or empty (its data, not its shape)."""
    if path in paths:
        return True
    parts = re.split(r"(?=\.)|(?=\[\])", path)
    return any("".join(parts[:i]) in empty for i in range(1, len(parts)))


def _get(value: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            value = value[int(part[1:-1])] if isinstance(value, list) and len(value) > int(part[1:-1]) else KeyError
        else:
            value = value.get(part, KeyError) if isinstance(value, dict) else KeyError
        if value is KeyError:
            return KeyError
    return value


def _expected(value: Any, names: dict[str, Any]) -> Any:
    if isinstance(value, Ref):
        return names.get(value.name, f"<unbound {value.name}>")
    if isinstance(value, list):
        return [_expected(v, names) for v in value]
    return value


def _check_value(path: str, want: Any, got: Any, names: dict[str, Any]) -> str | None:
    if got is KeyError:
        return f"{path}: not answered (AWS answered it)"
    if isinstance(want, Match):
        pattern = _NAME.sub(lambda m: re.escape(str(names.get(m.group(1), "<unbound>"))), want.pattern)
        if not (isinstance(got, str) and re.fullmatch(pattern, got)):
            return f"{path}: {got!r} is not of AWS's form {pattern!r}"
        return None
    if isinstance(want, Contains):
        item = _expected(want.value, names)
        items = [x.get(want.key) if want.key and isinstance(x, dict) else x for x in got or []]
        return None if item in items else f"{path}: no item{' ' + want.key if want.key else ''} = {item!r} in {items!r}"
    expected = _expected(want, names)
    return None if got == expected else f"{path}: {got!r}, AWS answered {expected!r}"


def _path(flow: Flow, alternate: int | None) -> list[Step]:
    """The steps one run takes: each alternative replaces the step it is an alternative to."""
    chosen = next((s for s in flow.steps if alternate is not None and s.example == alternate), None)
    out = []
    for s in flow.steps:
        if s.alternate_of is not None and s is not chosen:
            continue
        if chosen is not None and s.example == chosen.alternate_of:
            continue
        out.append(s)
    return out


def steps_before(flow: Flow, step: Step) -> list[Step]:
    """The steps the replay takes up to and including ``step``."""
    path = _path(flow, step.example if step.alternate_of is not None else None)
    return path[: path.index(step) + 1]


@functools.cache
def replay(flow_name: str, alternate: int | None = None) -> tuple[Outcome, ...]:
    """Replay a flow in a fresh sandbox; one Outcome per step taken, in order."""
    flow = next(f for f in FLOWS if f.name == flow_name)
    outcomes: list[Outcome] = []
    with Sandbox(config=SandboxConfig.fast(), seed=flow.seed) as sb:
        client = sb.client()
        raw: dict[str, Any] = {}

        def keep(http_response: Any, **_: Any) -> None:
            raw["body"] = http_response.content

        client.meta.events.register("after-call.partnercentral-selling.*", keep)
        names: dict[str, Any] = {"token": uuid.uuid4().hex[:12], "account": sb.config.account_id}
        failed: list[str] = []
        for step in _path(flow, alternate):
            out = Outcome(step)
            outcomes.append(out)
            label = f"#{step.example}" if step.example else step.item
            try:
                request = _sendable(_substitute(step.request, names), input_shape(step.operation))
            except Unbound as e:
                out.outcome = "not sent"
                out.problems.append(f"needs {e.args[0]}, which an earlier step did not give ({', '.join(failed)})")
                failed.append(label)
                continue
            raw.clear()
            try:
                parsed = getattr(client, _snake(step.operation))(**request)
            except ClientError as e:
                parsed = None
                out.outcome = e.response["Error"]["Code"]
                out.problems.append(f"answered {out.outcome}: {e.response['Error'].get('Message', '')}"[:600])
            except ParamValidationError as e:
                parsed = None
                out.outcome = "ParamValidationError"
                out.problems.append(str(e)[:600])
            if failed and out.problems:
                out.problems.append(f"(after earlier steps failed: {', '.join(failed)})")
            if parsed is None:
                failed.append(label)
                continue
            body = json.loads(raw.get("body") or b"{}")
            out.raw = body
            paths, empty = member_paths(body)
            missing = [m for m in step.members if not _covered(m, paths, empty)]
            if missing:
                out.problems.append(f"members AWS answered and the sandbox did not: {', '.join(missing)}")
            for path, want in step.values.items():
                problem = _check_value(path, want, _get(body, path), names)
                if problem:
                    out.problems.append(problem)
            for name, path in step.binds.items():
                value = _get(parsed, path)
                if value is KeyError:
                    out.problems.append(f"{path}: not answered, so {name} is not known")
                else:
                    names[name] = value
            if out.problems:
                failed.append(label)
    return tuple(outcomes)


def _snake(operation: str) -> str:
    return str(xform_name(operation))
