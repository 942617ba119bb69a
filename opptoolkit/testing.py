"""Random, model-valid Opportunity records, generated from the service model itself.

Used by the tests (round-trip law), the benchmarks and the sandbox's seed data. Every value
satisfies the model's enums, patterns and list bounds, and what its documentation says of single
values (currencies it accepts, real calendar dates, TargetCompany ``AWS``); in ``tricky`` mode free text is full of
what breaks spreadsheets (commas, quotes, newlines, leading ``=+-@``, unicode, ``NA``, leading
zeros).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.model import ListShape, Shape, StructureShape

from ._patterns import sample_pattern
from .rules import PARTITION, SPEND_TARGET, TARGET_COMPANY, accepted_values, documented_range, required_for_partition
from .schema import get_schema

__all__ = ["fake_record", "fake_records", "sample_pattern"]

_TRICKY_STRINGS = [
    "NA", "N/A", "null", "None", "nan", "TRUE", "=SUM(A1:A3)", "+1-555", "-42", "@handle",
    "'quoted", '"double"', "a,b;c", "line1\nline2", "tab\tcell", "  padded  ", "\ttab-first",
    "00123", "0.10", "1e5", "2024-01-05", "Ünïcödé ☃", "semi; colon", "x" * 20, "cr\rinside",
    "\rcr-first", "crlf\r\nline", "back\\slash\\n", " lead", "trail ", "a\n", "\nb",
]  # fmt: skip


def _timestamp(rng: random.Random) -> datetime:
    base = datetime(2023, 1, 1, tzinfo=UTC)
    return base + timedelta(milliseconds=rng.randint(0, 3 * 365 * 24 * 3600 * 1000))


def _string(path: str, rng: random.Random, tricky: bool, required: bool) -> str:
    f = get_schema().fields.get(path)
    enum = accepted_values(path) or (f.enum if f else ())
    pattern = (f.pattern or f.item_pattern) if f else None
    if enum:
        return rng.choice(enum)
    if path == SPEND_TARGET:  # model: without ExpectedContractDuration "only AWS is accepted"
        return TARGET_COMPANY
    span = documented_range(path)
    if span is not None:  # model, ExpectedContractDuration.Value: "Valid values range from 1 to 144"
        return str(rng.randint(*span))
    if f is not None and f.is_date:  # the pattern alone would allow 2030-02-30
        return (datetime(2023, 1, 1) + timedelta(days=rng.randint(0, 3650))).date().isoformat()
    rx = f._regex if f else None
    if tricky and (pattern is None or pattern.startswith("(?s).")) and rng.random() < 0.4:
        candidates = [s for s in _TRICKY_STRINGS if rx is None or rx.fullmatch(s)]
        if candidates:
            return rng.choice(candidates)
    if pattern is None:
        pattern = "(?s).{1,40}"
    s = sample_pattern(pattern, rng, tricky=tricky)
    if s == "" and required:  # required members carry a value
        s = sample_pattern(pattern.replace("{0,", "{1,"), rng, tricky=tricky)
    return s


def _value(shape: Shape, path: str, rng: random.Random, tricky: bool, required: bool, p: float) -> Any:
    """Random value for ``shape``; ``path`` is the catalogue path of the leaf (or the prefix)."""
    if isinstance(shape, StructureShape):
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            req = name in shape.required_members
            if req or rng.random() < p:
                sub = f"{path}{name}"
                if isinstance(member, StructureShape):
                    sub += "."
                elif isinstance(member, ListShape) and isinstance(member.member, StructureShape):
                    sub += "[]."
                out[name] = _value(member, sub, rng, tricky, req, p)
        return out
    if isinstance(shape, ListShape):
        lo = shape.metadata.get("min", 0)
        hi = shape.metadata.get("max", 4)
        n = rng.choice([lo, lo + 1, rng.randint(lo, hi), hi]) if hi > lo else lo
        if isinstance(shape.member, StructureShape):
            return [_value(shape.member, path, rng, tricky, False, p) for _ in range(n)]
        return [_value(shape.member, path, rng, tricky, True, p) for _ in range(max(n, 1))]
    if shape.type_name == "timestamp":
        return _timestamp(rng)
    if shape.type_name == "string":
        return _string(path, rng, tricky, required)
    raise NotImplementedError(f"{path}: {shape.type_name}")


def fake_record(rng: random.Random, *, tricky: bool = True, p_present: float = 0.7) -> dict[str, Any]:
    """One random GetOpportunity response valid against the service model.

    Parameters
    ----------
    rng : random.Random
        Source of randomness (seed it for repeatable data).
    tricky : bool
        Fill free text with spreadsheet-hostile content (unicode, separators, formula prefixes).
    p_present : float
        Probability that each optional member is present.

    Returns
    -------
    dict
        The record, with ``Id``, ``Catalog`` and ``LastModifiedDate``.

    Examples
    --------
    >>> import random
    >>> r = fake_record(random.Random(0))
    >>> sorted(k for k in ("Id", "Catalog", "LastModifiedDate") if k in r)
    ['Catalog', 'Id', 'LastModifiedDate']
    """
    schema = get_schema()
    rec: dict[str, Any] = _value(schema.get_shape, "", rng, tricky, True, p_present)
    rec["Catalog"] = rng.choice(["AWS", "Sandbox"])
    partition = rec.get("Project", {}).get("AwsPartition")
    if partition is not None:  # model, CurrencyCode: "If the AWS Partition is aws-eusc ... must be EUR"
        for holder, path in [
            *(
                (s, f"{PARTITION.split('.')[0]}.ExpectedCustomerSpend[].CurrencyCode")
                for s in rec["Project"].get("ExpectedCustomerSpend", [])
            ),
            (rec.get("SoftwareRevenue", {}).get("Value", {}), "SoftwareRevenue.Value.CurrencyCode"),
        ]:
            tied = required_for_partition(path)
            if tied and tied[0] == partition and "CurrencyCode" in holder:
                holder["CurrencyCode"] = tied[1]
    return rec


def fake_records(n: int, seed: int = 0, **kwargs: Any) -> list[dict[str, Any]]:
    """``n`` records from :func:`fake_record` with a seeded generator.

    Parameters
    ----------
    n : int
        How many records.
    seed : int, default 0
        Seed of the generator: the same seed gives the same records.
    **kwargs
        Passed to :func:`fake_record` (``tricky``, ``p_present``).

    Returns
    -------
    list of dict
        The records, with ``Id`` unique among them.

    Examples
    --------
    >>> recs = fake_records(3, seed=1)
    >>> len({r["Id"] for r in recs}), recs == fake_records(3, seed=1)
    (3, True)
    """
    rng = random.Random(seed)
    records = [fake_record(rng, **kwargs) for _ in range(n)]
    for i, rec in enumerate(records):  # identifiers are unique within a catalog
        rec["Id"] = f"O{seed % 1000:03d}{i + 1:010d}"
    return records
