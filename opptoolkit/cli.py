"""The ``opptoolkit`` command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from .exceptions import OpptoolkitError

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.out)


def _client(args: argparse.Namespace) -> Any:
    import boto3

    from .api import get_client

    session = boto3.Session(profile_name=args.profile) if args.profile else None
    return get_client(boto3_session=session, endpoint_url=args.endpoint_url, region_name=args.region)


def _write_frame(df: Any, out: Path, headers: str = "path") -> None:
    from .sheets import write_sheet

    if out.suffix.lower() == ".parquet":
        out.parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(out)
    else:
        write_sheet(df, out, headers=headers)


def _pull(args: argparse.Namespace) -> int:
    from .api import read_opportunities

    df = read_opportunities(
        args.catalog,
        client=_client(args),
        summary_only=args.summary_only,
        reads_per_second=args.reads_per_second,
        stages=args.stage,
        review_statuses=args.review_status,
        identifiers=args.id,
        customer_names=args.customer,
        modified_after=args.modified_after,
        drop_empty=args.drop_empty,
    )
    out = Path(args.out)
    _write_frame(df, out, args.headers)
    failures = df.attrs.get("failures", [])
    print(f"pulled {len(df)} opportunities from {args.catalog} into {out} ({df.shape[1]} columns)")
    for f in failures:
        print(f"  not read: {f['Id']}: {f['code']}: {f['message']}", file=sys.stderr)
    return 1 if failures else 0


def _sync(args: argparse.Namespace) -> int:
    from .mirror import sync_mirror

    result = sync_mirror(
        args.mirror, args.catalog, client=_client(args), reads_per_second=args.reads_per_second, full=args.full
    )
    print(repr(result))
    for f in result.failures:
        print(f"  not read: {f['Id']}: {f['code']}: {f['message']}", file=sys.stderr)
    return 1 if result.failures else 0


def _push(args: argparse.Namespace) -> int:
    import pandas as pd

    from .push import plan_updates, push_updates

    pd.set_option("display.max_colwidth", 90)
    pd.set_option("display.width", 200)
    if args.dry_run:
        plan = plan_updates(
            args.edits, args.catalog, base=args.base, blank=args.blank, extra=args.extra,
            client=None if args.base else _client(args),
        )  # fmt: skip
        todo = plan[plan["action"] != "unchanged"]
        print(f"plan for {len(plan)} rows: " + ", ".join(f"{k} {v}" for k, v in plan["action"].value_counts().items()))
        for rec in todo.to_dict("records"):
            print(f"  {rec['Id']} [{rec['action']}] {rec['note']}")
            for c in [*rec["changes"], *rec["errors"]]:
                print(f"      {c}")
        return 0
    result = push_updates(
        args.edits, args.catalog, ledger=args.ledger, base=args.base, blank=args.blank, extra=args.extra,
        client=_client(args),
        writes_per_second=args.writes_per_second, reads_per_second=args.reads_per_second,
        daily_write_budget=args.daily_write_budget,
    )  # fmt: skip
    counts = result["status"].value_counts()
    print(
        f"pushed {len(result)} rows: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + f"; ledger: {args.ledger}"
    )
    bad = result[result["status"].isin(["failed", "invalid", "conflict", "not_editable", "not_found"])]
    for r in bad.itertuples():
        print(f"  {r.Id} [{r.status}] {r.error_code}: {r.error_message}", file=sys.stderr)
    return 1 if len(bad) else 0


def _report(args: argparse.Namespace) -> int:
    from .report import read_frame, write_report

    df = read_frame(args.frame)
    views = write_report(df, args.html, xlsx=args.xlsx)
    skipped = [name for name, v in views.items() if isinstance(v, str)]
    print(f"report of {len(df)} opportunities: {args.html}" + (f" and {args.xlsx}" if args.xlsx else ""))
    for name in skipped:
        print(f"  {name}: {views[name]}", file=sys.stderr)
    return 0


def _aws_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", required=True, help="AWS or Sandbox (always explicit)")
    p.add_argument("--endpoint-url", help="a sandbox endpoint, e.g. http://127.0.0.1:8787")
    p.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    p.add_argument("--region", help="AWS region (default: the profile's, else us-east-1)")
    p.add_argument("--reads-per-second", type=float, default=10.0, help="read pacing (documented quota: 10)")


def _sandbox(args: argparse.Namespace) -> int:
    import time

    from .sandbox import Sandbox, SandboxConfig

    config = SandboxConfig.fast() if args.fast else SandboxConfig()
    config.fault_rate = args.fault_rate
    config.latency = args.latency
    with Sandbox(args.db, port=args.port, config=config, seed=not args.no_seed) as sb:
        print(f"opptoolkit sandbox: {sb.endpoint_url}  ({sb.store.count()} opportunities, db={args.db})")
        print("Use it from Python:")
        print("    import boto3")
        print(f'    client = boto3.client("partnercentral-selling", endpoint_url="{sb.endpoint_url}",')
        print('                          region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")')
        print('    client.list_opportunities(Catalog="Sandbox")')
        print(f"or the CLI: opptoolkit pull --catalog Sandbox --endpoint-url {sb.endpoint_url} --out pipeline.xlsx")
        print("Ctrl-C stops it.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``opptoolkit`` command."""
    parser = argparse.ArgumentParser(prog="opptoolkit", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run the end-to-end demo against the embedded sandbox")
    demo.add_argument("--out", default="data/demo", help="folder for the demo's outputs")
    demo.set_defaults(func=_demo)
    pull = sub.add_parser("pull", help="pull opportunities into .parquet, .xlsx or .csv")
    _aws_options(pull)
    pull.add_argument("--out", required=True, help="pipeline.parquet | pipeline.xlsx | pipeline.csv")
    pull.add_argument(
        "--summary-only", action="store_true", help="ListOpportunities summaries only (no GetOpportunity)"
    )
    pull.add_argument("--stage", action="append", help="filter by LifeCycle.Stage (repeatable)")
    pull.add_argument("--review-status", action="append", help="filter by LifeCycle.ReviewStatus (repeatable)")
    pull.add_argument("--id", action="append", help="filter by opportunity Id (repeatable)")
    pull.add_argument("--customer", action="append", help="filter by customer company name (repeatable)")
    pull.add_argument("--modified-after", help="only opportunities modified after this ISO date-time")
    pull.add_argument(
        "--headers", choices=["path", "label"], default="path", help="sheet headers: dotted paths or friendly labels"
    )
    pull.add_argument("--drop-empty", action="store_true", help="leave out columns empty in every row")
    pull.set_defaults(func=_pull)
    sync = sub.add_parser("sync", help="bring a local Parquet mirror up to date (incremental)")
    _aws_options(sync)
    sync.add_argument("--mirror", required=True, help="folder of the mirror")
    sync.add_argument("--full", action="store_true", help="force a full pull")
    sync.set_defaults(func=_sync)
    push = sub.add_parser("push", help="push the changed rows of an edited sheet (or plan them with --dry-run)")
    push.add_argument("edits", help="edited .xlsx / .csv (with an Id column)")
    _aws_options(push)
    push.add_argument("--ledger", default="ledger", help="folder of the Parquet ledger (resume: same folder)")
    push.add_argument("--base", help="the export as it was (sheet, .parquet or mirror folder) for three-way merges")
    push.add_argument(
        "--blank", choices=["keep", "clear"], default="keep", help="a blank cell keeps or clears the value"
    )
    push.add_argument(
        "--extra", choices=["error", "keep"], default="error",
        help="columns no field has (an analyst's notes): refuse the sheet, or keep them out of the push",
    )  # fmt: skip
    push.add_argument("--dry-run", action="store_true", help="show the plan, send nothing")
    push.add_argument("--writes-per-second", type=float, default=1.0, help="write pacing (documented quota: 1)")
    push.add_argument(
        "--daily-write-budget", type=int, default=10_000, help="writes per rolling 24 h (documented: 10,000)"
    )
    push.set_defaults(func=_push)
    rep = sub.add_parser("report", help="pipeline report: one self-contained HTML file (and an .xlsx)")
    rep.add_argument("frame", help="pipeline.parquet | pipeline.xlsx | pipeline.csv | a mirror folder")
    rep.add_argument("--html", default="report.html", help="the HTML report to write")
    rep.add_argument("--xlsx", help="also write the views as a workbook, one sheet per view")
    rep.set_defaults(func=_report)
    sb = sub.add_parser("sandbox", help="run the local Partner Central Selling API")
    sb.add_argument("--port", type=int, default=8787, help="TCP port on 127.0.0.1 (0: any free port)")
    sb.add_argument("--db", default=":memory:", help="SQLite file that keeps state across restarts")
    sb.add_argument(
        "--fast", action="store_true", help="quotas of 1,000/s instead of the documented 10 reads/s, 1 write/s"
    )
    sb.add_argument("--no-seed", action="store_true", help="start empty instead of with the seed opportunities")
    sb.add_argument("--fault-rate", type=float, default=0.0, help="share of requests answered InternalServerException")
    sb.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    sb.set_defaults(func=_sandbox)
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
