"""The ``opptoolkit`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .exceptions import OpptoolkitError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from .fake import fake_records
    from .frame import payload_from_record, to_frame, to_payloads
    from .sheets import read_sheet, write_sheet

    out = Path(args.out)
    records = fake_records(args.n, seed=1)
    df = to_frame(records)
    print(f"1. flattened {len(df)} generated opportunities into {df.shape[1]} columns")
    for suffix in (".xlsx", ".csv"):
        path = write_sheet(df, out / f"pipeline{suffix}", headers="label")
        back = read_sheet(path)
        same = to_payloads(back) == [payload_from_record(r) for r in records]
        print(f"2. wrote {path} and read it back: {'exact' if same else 'DRIFTED'}")
        if not same:
            return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``opptoolkit`` command."""
    parser = argparse.ArgumentParser(prog="opptoolkit", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the end-to-end demo")
    demo.add_argument("--out", default="data/demo", help="folder for the demo's outputs")
    demo.add_argument("-n", type=int, default=200, help="number of opportunities")
    demo.set_defaults(func=_demo)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except OpptoolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
