"""Postal codes per country, as AWS's opportunity spec sheets state them (transcribed facts).

Sources: aws-samples/partner-crm-integration-samples, ``opportunity-samples/CountriesWithoutPostalCode.csv`` (the
countries whose addresses take no postal code: Opportunity-Fields.csv, Postal Code, Additional Details: "Countries
without postal code will no longer take values") and ``opportunity-samples/PostalCodeValidations.csv`` (its
"Validation Error Message" per country: "... postal code must be in 99999 OR 99999-9999 format"). The sheets name
countries; address_facts.json (package data, beside this module) writes them as the model's CountryCode values,
checked against the model when this module loads. In a format, ``9`` stands for a digit (``N`` does in a format
with an ``N`` or another digit, whose digits are themselves: Monaco's "980NN", Saint Martin's "97150"), ``A`` and
``C`` for a letter, ``(…)`` for an optional part, ``A/N`` for a letter or a digit; anything else is itself.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from . import fields as P
from .schema import get_schema

__all__ = ["NO_POSTAL_CODE", "POSTAL_FORMATS", "describe_postal_formats", "example_postal_code", "postal_code_fits"]

_FACTS = json.loads((Path(__file__).with_name("address_facts.json")).read_text(encoding="utf-8"))
#: CountriesWithoutPostalCode.csv, as CountryCode values
NO_POSTAL_CODE = frozenset(_FACTS["no_postal_code"])
#: PostalCodeValidations.csv: the formats each country's postal code must be in
POSTAL_FORMATS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _FACTS["formats"].items()}
_unknown = (NO_POSTAL_CODE | POSTAL_FORMATS.keys()) - set(get_schema()[f"{P.ACCOUNT}.Address.CountryCode"].enum)
assert not _unknown, f"not CountryCode values of the model: {sorted(_unknown)}"


def _digit(fmt: str) -> str:
    """Return what stands for a digit in ``fmt``.

    ``N`` in a format with an ``N`` or another digit ("980NN", "97150"), else ``9`` ("99999-9999").
    """
    return "N" if re.search(r"[0-8]|N(?<!A/N)", fmt) else "9"


def _regex(fmt: str) -> str:
    out, i, digit = [], 0, _digit(fmt)
    while i < len(fmt):
        if fmt.startswith("(A/N)", i):
            out.append("[A-Za-z0-9]?")
            i += 5
        elif fmt.startswith("(A)", i):
            out.append("[A-Za-z]?")
            i += 3
        else:
            c = fmt[i]
            out.append(r"\d" if c == digit else "[A-Za-z]" if c in "AC" else re.escape(c))
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


def example_postal_code(country: str, digits: str) -> str | None:
    """Return a postal code in the first format PostalCodeValidations.csv gives ``country``, or None.

    Its digits are taken from ``digits`` in turn (repeated as needed), its letters are ``A``; optional parts are
    left out.

    >>> example_postal_code("US", "12345"), example_postal_code("NL", "42"), example_postal_code("MC", "7")
    ('12345', '4242 AA', '98077')
    """
    formats = POSTAL_FORMATS.get(country)
    if not formats or not digits:
        return None
    fmt, digit = formats[0], _digit(formats[0])
    fmt = re.sub(r"\((?:A/N|A)\)", "", fmt)
    out, n = [], 0
    for c in fmt:
        if c == digit:
            out.append(digits[n % len(digits)])
            n += 1
        else:
            out.append("A" if c in "AC" else c)
    code = "".join(out)
    assert postal_code_fits(country, code), (country, code)
    return code


def describe_postal_formats(country: str) -> str:
    """Return the formats PostalCodeValidations.csv gives ``country``, with what their letters stand for.

    >>> describe_postal_formats("NL")
    '9999 AC or 9999AC (9 a digit; A, C a letter)'
    >>> describe_postal_formats("GB")
    'A(A)N(A/N)NAA or A(A)N(A/N) NAA (N a digit; A a letter; (…) optional; A/N a letter or a digit)'
    """
    formats = POSTAL_FORMATS[country]
    text = "".join(formats)
    digits = sorted({_digit(f) for f in formats if _digit(f) in f.replace("A/N", "")})
    legend = [
        f"{', '.join(digits)} a digit" if digits else "",
        f"{', '.join(c for c in 'AC' if c in text)} a letter" if any(c in text for c in "AC") else "",
        "(…) optional" if "(" in text else "",
        "A/N a letter or a digit" if "A/N" in text else "",
    ]
    said = "; ".join(x for x in legend if x)
    return " or ".join(formats) + (f" ({said})" if said else "")
