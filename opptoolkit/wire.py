"""The service's wire format (AWS JSON 1.0), done by botocore's own serializer and parser.

With the service model, so timestamps and shapes are exactly what boto3 sends and expects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from botocore.model import Shape, StructureShape
from botocore.parsers import JSONParser
from botocore.serialize import JSONSerializer

from . import fields as P
from .schema import get_schema, service_model

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
    """Return the output shape of ``operation`` in the service model."""
    shape = service_model().operation_model(operation).output_shape
    assert isinstance(shape, StructureShape)
    return shape


def input_shape(operation: str) -> StructureShape:
    """Return the input shape of ``operation`` in the service model."""
    shape = service_model().operation_model(operation).input_shape
    assert isinstance(shape, StructureShape)
    return shape


def record_shape() -> StructureShape:
    """Return the shape of a stored opportunity: a GetOpportunity response."""
    return output_shape("GetOpportunity")


def dumps_record(record: dict[str, Any]) -> str:
    """Return a record (a GetOpportunity response) as the service's JSON text.

    The one encoding opptoolkit stores records in (the sandbox's store and seed, the mirror).
    """
    return json.dumps(to_wire(record, record_shape()), ensure_ascii=False, sort_keys=True)


def loads_record(text: str) -> dict[str, Any]:
    """Return the record :func:`dumps_record` wrote, with Python values (timestamps as aware datetimes)."""
    return from_wire(json.loads(text), record_shape())


def project(value: Any, shape: Shape) -> Any:
    """Keep only what ``shape`` has (a full record -> an OpportunitySummary), model-driven."""
    if isinstance(shape, StructureShape):
        return {k: project(v, shape.members[k]) for k, v in value.items() if k in shape.members}
    if shape.type_name == "list":
        return [project(x, shape.member) for x in value]  # type: ignore[attr-defined]
    return value


# -- HTML entities in free text --------------------------------------------------------------------
# AWS's recorded answers carry "&" plain: every recorded GetOpportunity answers "CustomerUseCase":
# "Security & Compliance" (aws-samples/partner-crm-integration-samples, the samples' Postman collection, e.g.
# "LeadToOpportunity / GetOpportunity"). No recording shows a colon in free text. AWS's sample UI decodes these
# four members of every GetOpportunity response (partner-central-api-sample-codes/opportunityManagement/src/
# components/EditOpportunity.js) with a decoder (.../src/utils/commonUtils.js, ``decodeServerEntities``) that
# states: "The Partner Central API double-encodes colons as &amp;colon; in responses"; its second step, "&amp;"
# to "&", it explains by its own editor ("The editable-JSON round-trip re-encodes every literal '&'"), not by
# the service. So the sandbox encodes colons in these members and nothing else. OpportunitySummary has the same
# paths for the members it carries (CompanyName, NextSteps).
ENCODED_TEXT = (P.COMPANY, P.NEXT_STEPS, P.BUSINESS_PROBLEM, P.CUSTOMER_USE_CASE)
for _text_path in ENCODED_TEXT:  # free text in the model too: a string with no enum
    assert get_schema()[_text_path].type == "string" and not get_schema()[_text_path].enum, _text_path


def encode_text(text: str) -> str:
    """Return free text as the service sends it: ``:`` as ``&amp;colon;``, ``&`` as it is.

    (``&colon;``, HTML5's named entity for a colon, encoded once more, as commonUtils.js says.)

    >>> encode_text("R&D: Labs")
    'R&D&amp;colon; Labs'
    """
    return text.replace(":", "&amp;colon;")


def decode_text(text: str) -> str:
    """Return the text a person typed, from the service's encoding.

    The double-encoded colon, and nothing else: AWS answers ``&`` as typed (the recordings), so text that
    looks like an entity (``&amp;``, ``&lt;``) is the user's and is kept exactly; decoding it would change the
    record on the next push.

    >>> decode_text("Big Data&amp;colon; ETL &amp; BI"), decode_text(encode_text("R&D: Labs"))
    ('Big Data: ETL &amp; BI', 'R&D: Labs')
    """
    return text.replace("&amp;colon;", ":")


def map_text(record: Mapping[str, Any], convert: Callable[[str], str]) -> dict[str, Any]:
    """Return a copy of ``record`` with ``convert`` applied to each :data:`ENCODED_TEXT` member it has.

    ``record`` is a GetOpportunity response or an OpportunitySummary.
    """
    out = dict(record)
    for path in ENCODED_TEXT:
        *parents, leaf = path.split(".")
        node: dict[str, Any] = out
        for name in parents:
            if not isinstance(node.get(name), dict):
                break
            child = dict(node[name])
            node[name] = child
            node = child
        else:
            if isinstance(node.get(leaf), str):
                node[leaf] = convert(node[leaf])
    return out
