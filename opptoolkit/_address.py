"""Postal codes per country, as AWS's opportunity spec sheets state them (transcribed facts).

Sources: aws-samples/partner-crm-integration-samples, ``opportunity-samples/CountriesWithoutPostalCode.csv`` (the
countries whose addresses take no postal code: Opportunity-Fields.csv, Postal Code, Additional Details: "Countries
without postal code will no longer take values") and ``opportunity-samples/PostalCodeValidations.csv`` (its
"Validation Error Message" per country: "... postal code must be in 99999 OR 99999-9999 format"). The sheets name
countries; address_facts.json (package data, beside this module) writes them as the model's CountryCode values,
checked against the model when this module loads. In a format, ``9`` and ``N`` stand for a digit, ``A`` and ``C``
for a letter, ``(…)`` for an optional part, ``A/N`` for a letter or a digit; anything else is itself.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from . import fields as P
from .schema import get_schema

__all__ = ["NO_POSTAL_CODE", "POSTAL_FORMATS", "postal_code_fits"]

_FACTS = json.loads((Path(__file__).with_name("address_facts.json")).read_text(encoding="utf-8"))
#: CountriesWithoutPostalCode.csv, as CountryCode values
NO_POSTAL_CODE = frozenset(_FACTS["no_postal_code"])
#: PostalCodeValidations.csv: the formats each country's postal code must be in
POSTAL_FORMATS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _FACTS["formats"].items()}
_unknown = (NO_POSTAL_CODE | POSTAL_FORMATS.keys()) - set(get_schema()[f"{P.ACCOUNT}.Address.CountryCode"].enum)
assert not _unknown, f"not CountryCode values of the model: {sorted(_unknown)}"


def _regex(fmt: str) -> str:
    out, i = [], 0
    while i < len(fmt):
        if fmt.startswith("(A/N)", i):
            out.append("[A-Za-z0-9]?")
            i += 5
        elif fmt.startswith("(A)", i):
            out.append("[A-Za-z]?")
            i += 3
        else:
            c = fmt[i]
            out.append(r"\d" if c in "9N" else "[A-Za-z]" if c in "AC" else re.escape(c))
            i += 1
    return "".join(out)


@functools.cache
def _compiled(country: str) -> re.Pattern[str] | None:
    formats = POSTAL_FORMATS.get(country)
    return re.compile("|".join(f"(?:{_regex(f)})" for f in formats)) if formats else None


def postal_code_fits(country: str, code: str) -> bool | None:
    """Whether ``code`` is in a format PostalCodeValidations.csv gives ``country``; None when it gives none.

    >>> postal_code_fits("US", "10001"), postal_code_fits("US", "1000"), postal_code_fits("CA", "K1A 0B1")
    (True, False, True)
    >>> postal_code_fits("GB", "SW1A 1AA"), postal_code_fits("NL", "1234 AB"), postal_code_fits("XX", "1") is None
    (True, True, True)
    """
    rx = _compiled(country)
    return None if rx is None else rx.fullmatch(code.strip()) is not None
