"""The service's wire format (AWS JSON 1.0), done by botocore's own serializer and parser with
the service model, so timestamps and shapes are exactly what boto3 sends and expects."""

from __future__ import annotations

import json
from typing import Any

from botocore.model import Shape, StructureShape
from botocore.parsers import JSONParser
from botocore.serialize import JSONSerializer

from .model import service_model

_serializer = JSONSerializer()
_parser = JSONParser()


def to_wire(value: dict[str, Any], shape: Shape) -> dict[str, Any]:
    """Python values (datetimes, ...) -> JSON-ready dict, as the service would send them."""
    out: dict[str, Any] = {}
    _serializer._serialize(out, value, shape)  # type: ignore[attr-defined]  # botocore's own walker
    return out


def from_wire(value: dict[str, Any], shape: Shape) -> dict[str, Any]:
    """JSON dict -> Python values, as boto3 would parse them (timestamps -> aware datetimes)."""
    parsed: dict[str, Any] = _parser._parse_shape(shape, value)  # type: ignore[attr-defined]
    return parsed


def output_shape(operation: str) -> StructureShape:
    shape = service_model().operation_model(operation).output_shape
    assert isinstance(shape, StructureShape)
    return shape


def input_shape(operation: str) -> StructureShape:
    shape = service_model().operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    return shape


def record_shape() -> StructureShape:
    """A stored opportunity is a GetOpportunity response."""
    return output_shape("GetOpportunity")


def dumps_record(record: dict[str, Any]) -> str:
    return json.dumps(to_wire(record, record_shape()), ensure_ascii=False, sort_keys=True)


def loads_record(text: str) -> dict[str, Any]:
    return from_wire(json.loads(text), record_shape())


def project(value: Any, shape: Shape) -> Any:
    """Keep only what ``shape`` has (a full record -> an OpportunitySummary), model-driven."""
    if isinstance(shape, StructureShape):
        return {k: project(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if shape.type_name == "list":
        return [project(x, shape.member) for x in value]  # type: ignore[attr-defined]
    return value
