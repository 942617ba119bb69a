"""Example values of the service model's string patterns: a random string that fully matches one.

The test-data generator (``fake``) fills records with them, and validation (``rules``) shows one
in a message, so an analyst reads what a field accepts instead of a regular expression.
The pattern is walked with the standard library's own regular-expression parser (``re._parser``,
the only parser of Python's pattern syntax there is); each sample is checked with ``fullmatch``.
"""

from __future__ import annotations

import functools
import random
import re
import string
from re import _parser as sre  # type: ignore[attr-defined]
from typing import Any

from .schema import compile_pattern, is_date_pattern

__all__ = ["example", "sample_pattern"]

_TRICKY_CHARS = [
    *(string.ascii_letters + string.digits + " ,;:'\"\n\t|\\/[]{}()<>*&%$#!?"),
    "é", "ß", "中", "文", "😀", "—", "’", "\u00a0", "Ω",
]  # fmt: skip
_SAFE_CHARS = string.ascii_letters + string.digits + " "
_CATEGORY = {
    sre.CATEGORY_DIGIT: string.digits,
    sre.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    sre.CATEGORY_SPACE: " ",
}
_UNBOUNDED_CAP = 8


def _class_chars(items: Any) -> str:
    key = repr(items)
    if key not in _CLASS_CACHE:
        chars: list[str] = []
        for iop, iav in items:
            if iop is sre.LITERAL:
                chars.append(chr(iav))
            elif iop is sre.RANGE:
                chars.extend(chr(c) for c in range(iav[0], iav[1] + 1))
            elif iop is sre.CATEGORY:
                chars.extend(_CATEGORY.get(iav, "a"))
            else:  # negated classes are not used by this model's patterns
                raise NotImplementedError(f"character class op {iop}")
        _CLASS_CACHE[key] = "".join(chars)
    return _CLASS_CACHE[key]


_CLASS_CACHE: dict[str, str] = {}


def _sample(tree: Any, rng: random.Random, any_chars: str | list[str]) -> str:
    out: list[str] = []
    for op, av in tree:
        if op is sre.LITERAL:
            out.append(chr(av))
        elif op is sre.ANY:
            out.append(rng.choice(any_chars))
        elif op is sre.IN:
            out.append(rng.choice(_class_chars(av)))
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            lo, hi, sub = av
            hi = lo + _UNBOUNDED_CAP if hi == sre.MAXREPEAT else hi
            # favour short and boundary lengths, sometimes the maximum
            n = rng.choice([lo, hi, rng.randint(lo, min(hi, lo + 12)), rng.randint(lo, hi)])
            if len(sub) == 1 and sub[0][0] is sre.ANY:  # fast path: .{m,n}
                out.extend(rng.choices(any_chars, k=n))
            elif len(sub) == 1 and sub[0][0] is sre.IN:  # fast path: [a-z]{m,n}
                out.extend(rng.choices(_class_chars(sub[0][1]), k=n))
            else:
                out.extend(_sample(sub, rng, any_chars) for _ in range(n))
        elif op is sre.SUBPATTERN:
            out.append(_sample(av[-1], rng, any_chars))
        elif op is sre.BRANCH:
            out.append(_sample(rng.choice(av[1]), rng, any_chars))
        elif op in (sre.AT, sre.ASSERT, sre.ASSERT_NOT):
            pass  # checked by fullmatch below
        else:
            raise NotImplementedError(f"regex op {op}")
    return "".join(out)


@functools.cache
def _parsed(pattern: str) -> tuple[Any, re.Pattern[str]]:
    rx = compile_pattern(pattern)  # the model's patterns have ASCII semantics, as rules checks them
    if rx is None:
        raise re.error(f"pattern not supported by Python's re: {pattern!r}")
    return sre.parse(pattern, re.ASCII), rx


def sample_pattern(pattern: str, rng: random.Random, *, tricky: bool = False) -> str:
    r"""Return a random string that fully matches ``pattern`` (a model pattern).

    Parameters
    ----------
    pattern : str
        A regular expression of the service model (Java/Smithy syntax, ASCII classes).
    rng : random.Random
        Source of randomness (seed it for repeatable data).
    tricky : bool, default False
        Draw free characters from a set that spreadsheets and CSV readers mishandle.

    Returns
    -------
    str
        A string pattern fully matches.

    Examples
    --------
    >>> import random, re
    >>> s = sample_pattern("O[0-9]{1,19}", random.Random(1))
    >>> bool(re.fullmatch("O[0-9]{1,19}", s))
    True
    >>> sample_pattern(r"\w{3}", random.Random(1)).isascii()
    True
    """
    tree, rx = _parsed(pattern)
    chars = _TRICKY_CHARS if tricky else _SAFE_CHARS
    for _ in range(200):
        s = _sample(tree, rng, chars)
        if rx.fullmatch(s):
            return s
    raise ValueError(f"could not sample a string for pattern {pattern!r}")


def example(pattern: str) -> str | None:
    """Return a short value that matches ``pattern``, the same every time; None when none can be made.

    >>> example("[1-9][0-9]{3}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])") is not None
    True
    """
    rng = random.Random(7)
    try:
        samples = [sample_pattern(pattern, rng) for _ in range(12)]
    except (ValueError, NotImplementedError, re.error):
        return None
    fitting = [x for x in samples if 3 <= len(x) <= 40]
    # the plainest one reads best: fewest punctuation marks, then the shortest
    return min(fitting, key=lambda x: (sum(not c.isalnum() for c in x), len(x))) if fitting else None


def example_date() -> str:
    """Return a date in the form the model's date patterns take, and not in the past: 31 December of next year."""
    import datetime

    return f"{datetime.datetime.now(datetime.UTC).year + 1}-12-31"


@functools.cache
def decimals(pattern: str | None) -> int | None:
    r"""Return the most decimals a plain decimal number of ``pattern`` takes (0: a whole number), or None.

    None when the pattern describes something else. Probed with values: it takes ``0``, ``7`` and ``1234``,
    refuses a sign, a thousands separator and an exponent.

    >>> decimals("(0|([1-9][0-9]{0,30}))(\\.[0-9]{0,2})?"), decimals("[0-9]{9}"), decimals("O[0-9]{1,19}")
    (2, None, None)
    """
    rx = compile_pattern(pattern)
    if rx is None or not all(rx.fullmatch(v) for v in ("0", "7", "1234")):
        return None
    if any(rx.fullmatch(v) for v in ("-1", "1,000", "1e5", "abc", "1 000")):
        return None
    n = 0
    while n < 10 and rx.fullmatch("1." + "5" * (n + 1)):
        n += 1
    return n


def describe(pattern: str | None) -> str | None:
    r"""Return what a value of ``pattern`` looks like, in words, when the pattern is a date or a number.

    None for any other (:func:`example` then shows one).

    >>> describe("[1-9][0-9]{3}-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])")[:29]
    'a date: use YYYY-MM-DD, e.g. '
    >>> describe("(0|([1-9][0-9]{0,30}))(\\.[0-9]{0,2})?")
    "a number with at most 2 decimals, for example '1500.50' (no currency sign or thousands separator)"
    """
    if is_date_pattern(pattern):
        return f"a date: use YYYY-MM-DD, e.g. {example_date()}"
    n = decimals(pattern)
    if n is None:
        return None
    plain = "no currency sign or thousands separator"
    if n == 0:
        return f"a whole number, for example '1500' ({plain})"
    return f"a number with at most {n} decimal{'s' if n > 1 else ''}, for example '1500.{'5'.ljust(n, '0')}' ({plain})"
