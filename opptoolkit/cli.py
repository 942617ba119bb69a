"""Your AWS Partner Central opportunities from the command line.

Pull them into a workbook, edit it in Excel or LibreOffice, push the edits back (a dry run first), and
write the weekly pipeline report. Every command takes -v to say what it is doing.
"""

from __future__ import annotations

import argparse
import errno
import logging
import math
import re
import sqlite3
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import botocore.exceptions as bce

from . import __version__
from ._errors import code_and_message, unreachable
from ._status import Status, counted, how_many, joined, said_line, said_problems
from .connection import connect, get_client
from .exceptions import OpptoolkitError, ServiceUnreachable
from .quotas import DAILY_WRITES, READS_PER_SECOND, WRITES_PER_SECOND
from .schema import service_model
from .storage import is_s3, written
from .wire import input_shape

__all__ = ["main"]

_log = logging.getLogger(__name__)

_EPILOG = """\
exit status:
  0    all good: every row applied (or nothing to do)
  1    some rows were not applied or read (listed above, and in the ledger); --dry-run: some rows
       would not be sent (invalid, conflict, not editable, not found)
  2    bad input or usage, or the service cannot be reached: the one-line message says what to do
  3    an unexpected error (a bug): the message names it, -vv logs the details
  130  interrupted (Ctrl-C); a push resumes from its --ledger
"""


_VERBOSE = "say what it is doing (-vv: in detail; the requests and answers themselves are never logged: they carry customer data)"


def _catalogs() -> list[str]:
    """Return the catalogs the model's ``Catalog`` member names.

    The member has a pattern and no enum; its text reads "takes a string value from a predefined list:
    <code>AWS</code> or <code>Sandbox</code>" (the model's CatalogIdentifier documentation), so the list is
    read from there.
    """
    doc = input_shape("ListOpportunities").members["Catalog"].documentation
    listed = re.search(r"predefined list:(.*?)\.", doc or "")
    return re.findall(r"<code>(\w+)</code>", listed.group(1)) if listed else []


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error told in one line as every other error is: what is wrong, where the help is."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def _instant(text: str) -> datetime:
    """Parse an ISO 8601 date or date-time (naive means UTC): an ``argparse`` type."""
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or date-time: write e.g. 2026-01-31 or 2026-01-31T09:00Z"
        ) from None
    except OverflowError:  # 0001-01-01T00:00+14:00 is before the first instant a datetime holds in UTC
        raise argparse.ArgumentTypeError(
            f"{text!r} is out of range once in UTC: write a date between 0001-01-02 and 9999-12-30"
        ) from None
    return when


def _positive(kind: type[float] | type[int], *, zero: bool = False) -> Callable[[str], float]:
    """Return an ``argparse`` type: a finite number above 0 (or at least 0 with ``zero``)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(
                f"{text!r} is not a {'whole ' if kind is int else ''}number " + ("of 0 or more" if zero else "above 0")
            )
        return value

    return parse


def _share(text: str) -> float:
    """Parse a share of requests, from 0 to 1: an ``argparse`` type."""
    value = _positive(float, zero=True)(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share from 0 to 1 (0.1 is one request in ten)")
    return value


def _port(text: str) -> int:
    """Parse a TCP port (0: any free one): an ``argparse`` type."""
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port: 1 to 65535, or 0 for any free port")
    return port


def _one_of(operation: str, member: str, what: str) -> Callable[[str], str]:
    """Return an ``argparse`` type: one of the model's values of an operation's input member (its items', for a list).

    Spelling aside (``pending`` is ``PENDING``); a near miss has a "did you mean" (:func:`opptoolkit.rules.input_value`).
    """

    def parse(text: str) -> str:
        from .rules import input_value

        try:
            return input_value(operation, member, text, what)
        except OpptoolkitError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return parse


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo(args.out)


def _session(args: argparse.Namespace) -> Any:
    """Return the session of ``--profile`` (None: the standard credential chain)."""
    import boto3

    return boto3.Session(profile_name=args.profile) if args.profile else None


def _client(args: argparse.Namespace, session: Any = None) -> Any:
    session = session if session is not None else _session(args)
    return get_client(boto3_session=session, endpoint_url=args.endpoint_url, region_name=args.region)


def _writable(out: Path, suffixes: tuple[str, ...]) -> None:
    """Refuse an output file that cannot be written, before any read is spent on it."""
    if out.suffix.lower() not in suffixes:
        raise OpptoolkitError(f"--out {out.name}: write to a {', '.join(suffixes[:-1])} or {suffixes[-1]} file")
    if out.is_dir():
        raise OpptoolkitError(f"--out {out} is a folder: name a file, e.g. {out / ('pipeline' + suffixes[0])}")


def _kind(path: str | None) -> str | None:
    """Name what a workbook the toolkit wrote is, from its sheets: ``"triage"``, ``"results"``, ``"report"``.

    None for anything else, a pipeline workbook included (and for a file that is no workbook: reading it
    says what is wrong with it).
    """
    from .referrals import TRIAGE_SHEET
    from .report import HEADLINE
    from .sheets import RESULTS_SHEET, workbook_problem

    if path is None or Path(path).suffix.lower() != ".xlsx" or not Path(path).is_file():
        return None
    if workbook_problem(Path(path)) is not None:
        return None
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True)
    except Exception:  # reading it as a sheet says what is wrong with it
        return None
    try:
        names = set(wb.sheetnames)
    finally:
        wb.close()
    if TRIAGE_SHEET in names:
        return "triage"
    if RESULTS_SHEET in names:
        return "results"
    return "report" if HEADLINE in names else None


#: What each kind of the toolkit's own workbooks is, as a sentence's subject says it.
_IS = {
    "triage": "a triage workbook of AWS referrals (opptoolkit referrals)",
    "results": "the results of a push (its rows are edits as they were pushed, some perhaps not applied)",
    "report": "a pipeline report (opptoolkit report --xlsx), figures rather than opportunities",
}


def _refuse_as_pipeline(path: str | None, what: str, instead: str) -> None:
    """Refuse a workbook of the toolkit's own where a sheet of opportunities is wanted, naming what it is."""
    kind = _kind(path)
    if kind is not None and path is not None:
        raise OpptoolkitError(f"{what}{Path(path).name} is {_IS[kind]}: {instead}")


def _pull(args: argparse.Namespace) -> int:
    from .client import read_opportunities
    from .io import write_frame

    _writable(Path(args.out), (".parquet", ".xlsx", ".csv"))
    client = _client(args)
    df = read_opportunities(
        args.catalog,
        client=client,
        summary_only=args.summary_only,
        reads_per_second=args.reads_per_second,
        stages=args.stage,
        review_statuses=args.review_status,
        identifiers=args.id,
        customer_names=args.customer,
        modified_after=args.modified_after,
        drop_empty=args.drop_empty,
    )
    out: Any = args.out if str(args.out).startswith("s3://") else Path(args.out)  # an S3 URI is no local path
    solutions = _solutions(args, client) if Path(args.out).suffix.lower() == ".xlsx" else None
    # as pulled: the workbook's base; its Read me names the catalog and endpoint to push back to
    write_frame(
        df, out, headers=args.headers, base=True, solutions=solutions, catalog=args.catalog,
        endpoint_url=args.endpoint_url,
    )  # fmt: skip
    print(
        f"Pulled {how_many(len(df), 'opportunity')} from the {args.catalog} catalog into {out} ({df.shape[1]} columns)."
    )
    return 1 if _not_read(df.attrs.get("failures", [])) else 0


def _not_read(failures: list[dict[str, Any]], what: str = "not read") -> bool:
    """Say each read that failed on stderr, a line each (Id, API code, message); return whether there was one."""
    for f in failures:
        print(f"  {what}: {f['Id']}: {f['code']}: {f['message']}", file=sys.stderr)
    return bool(failures)


def _template(args: argparse.Namespace) -> int:
    from .template import column_needs, write_template

    _writable(Path(args.out), (".xlsx",))
    out = write_template(args.out, args.catalog, endpoint_url=args.endpoint_url)
    needs = column_needs()
    required = sum(n.kind == "required" for n in needs.values())
    print(
        f"Wrote {out}, a workbook to create opportunities from: {required} required columns (orange) and "
        f"{len(needs) - required} needed when another column says so (yellow); its Read me says how to push it."
    )
    return 0


def _solutions(args: argparse.Namespace, client: Any) -> Any:
    """Read the partner's solutions for the workbook's Solutions sheet; None (with a warning) when they cannot be."""
    from .partner import read_solutions

    try:
        return read_solutions(args.catalog, client=client, reads_per_second=args.reads_per_second)
    except (bce.BotoCoreError, bce.ClientError) as e:  # e.g. no partnercentral:ListSolutions in the policy
        print(f"warning: the solutions were not read ({e}); the workbook has no Solutions sheet", file=sys.stderr)
        return None


def _sync(args: argparse.Namespace) -> int:
    from .events import sync_events
    from .mirror import sync_engagements, sync_mirror, vacuum_mirror

    mirror = args.mirror or args.mirror_path
    if not mirror:
        return _fail("sync needs the mirror: a folder or s3://bucket/prefix (opptoolkit sync s3://.../mirror ...)")
    if Path(mirror).is_file():
        return _fail(f"{mirror} is a file: the mirror is a folder (or s3://bucket/prefix): name a folder, e.g. mirror")
    session = _session(args)
    sync = {
        "client": _client(args),
        "boto3_session": session,
        "reads_per_second": args.reads_per_second,
        "aws_summary": args.aws_summary,
        "refresh_aws": args.refresh_aws,
        "progress": None,  # a bar on a terminal, none in cron or a container's log
    }
    if args.events:
        result = sync_events(mirror, args.catalog, args.events, **sync)
    else:
        result = sync_mirror(mirror, args.catalog, full=args.full, reconcile=args.reconcile, **sync)
    if args.vacuum_days is not None:
        vacuum_mirror(mirror, retention=timedelta(days=args.vacuum_days), boto3_session=session)
    print(result)
    failed = _not_read(result.failures)
    failed = _not_read(result.aws_failures, "AWS view not read (the old one kept)") or failed
    if args.engagements:  # the engagements, in a mirror of their own
        kept = sync_engagements(
            args.engagements,
            args.catalog,
            client=sync["client"],
            boto3_session=session,
            reads_per_second=args.reads_per_second,
            full=args.full,
            progress=None,
        )
        if args.vacuum_days is not None:
            vacuum_mirror(args.engagements, retention=timedelta(days=args.vacuum_days), boto3_session=session)
        print(kept)
        failed = _not_read(kept.failures) or failed
    return 1 if failed else 0


_NOT_SENT = (Status.INVALID, Status.CONFLICT, Status.NOT_EDITABLE, Status.NOT_FOUND)


def _short(value: Any, n: int = 24) -> str:
    """Return a cell as a line may show it: blank as nothing, and never more than a short prefix of it."""
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return text if len(text) <= n else f"{text[:n]}... ({len(text):,} characters)"


def _print_plan(plan: Any) -> None:
    todo = plan[(plan["action"] != Status.UNCHANGED) | plan["warnings"].map(bool)]  # an emptied cell kept, too
    print(f"Planned {how_many(len(plan), 'row')}: {counted(plan['action'].value_counts().to_dict())}.")
    for rec in todo.to_dict("records"):
        note = said_line(str(rec["note"])) if rec["note"] else ""
        print(f"  row {rec['row']} {_short(rec['Id'])} [{rec['action']}] {note}".rstrip())
        lines = [*map(said_line, rec["changes"]), *said_problems(rec)]
        for c in [*lines, *(f"warning: {said_line(w)}" for w in rec.get("warnings", []))]:
            print(f"      {c}")


def _confirmed(args: argparse.Namespace, client: Any) -> bool:
    """Write to the live ``AWS`` catalog: show the plan, then ask (a terminal only) unless ``--yes``."""
    from .push import plan_updates
    from .rules import ASSOCIATIONS

    if args.catalog != "AWS" or args.yes:
        return True
    plan = plan_updates(
        args.edits,
        args.catalog,
        base=args.base,
        blank=args.blank,
        extra=args.extra,
        client=client,
        reads_per_second=args.reads_per_second,
    )
    _print_plan(plan)
    update = plan["action"] == Status.UPDATE
    # a row whose only edits are its associations sends Associate/Disassociate calls, no UpdateOpportunity
    linked = update & plan["changed_fields"].map(
        lambda f: len(s := set(() if f is None else f)) > 0 and s <= ASSOCIATIONS.keys()
    )
    counts = {
        ("update", None): int((update & ~linked).sum()),
        ("row of association changes", "rows of association changes"): int(linked.sum()),
        ("new opportunity", None): int((plan["action"] == Status.CREATE).sum()),
    }
    what = joined(how_many(n, one, many) for (one, many), n in counts.items() if n)
    if not what:
        return True
    if not sys.stdin.isatty():
        raise OpptoolkitError(
            f"{what} to the live AWS catalog: a confirmation is needed; run in a terminal, or pass --yes"
        )
    answer = input(f"send {what} to the live AWS catalog? [y/N] ")
    return answer.strip().lower() in {"y", "yes"}


def _referrals(args: argparse.Namespace) -> int:
    from .io import write_frame
    from .referrals import read_invitations, write_triage

    out = args.out
    if Path(out).suffix.lower() not in (".xlsx", ".parquet"):
        raise OpptoolkitError(f"{out}: write the referrals to a triage .xlsx (to decide) or a .parquet (to analyse)")
    _writable(Path(out), (".xlsx", ".parquet"))
    df = read_invitations(
        args.catalog, status=args.status, client=_client(args), reads_per_second=args.reads_per_second
    )
    if Path(out).suffix.lower() == ".xlsx":  # its Read me names the catalog and endpoint to push the decisions to
        with written(out) as local:
            write_triage(df, local, catalog=args.catalog, endpoint_url=args.endpoint_url)
    else:
        write_frame(df, out)
    pending = df[df["Status"] == "PENDING"]
    week = int((pending["DaysToExpiry"] < 7).sum())
    print(
        f"Wrote {how_many(len(df), 'invitation')} from the {args.catalog} catalog into "
        f"{out}: {len(pending):,} pending, {week:,} of them expiring within 7 days."
    )
    return 1 if _not_read(df.attrs.get("failures", [])) else 0


def _leads(args: argparse.Namespace) -> int:
    """``leads``: AWS's leads into a workbook to accept, qualify, convert and submit in (:func:`opptoolkit.read_leads`)."""
    from .leads import read_leads, write_leads
    from .sheets import push_command

    out = args.out
    _writable(Path(out), (".xlsx",))
    conn = connect(args.catalog, client=_client(args), reads_per_second=args.reads_per_second)
    df = read_leads(conn)
    with written(out) as local:
        write_leads(df, local, catalog=args.catalog, endpoint_url=args.endpoint_url)
    pending = df[df["InvitationStatus"].eq("PENDING") & df["ContextId"].isna()]
    print(
        f"{how_many(len(df), 'lead')} from {args.catalog} into {out}: {len(pending)} waiting for a decision, "
        f"{int((pending['DaysToExpiry'] < 7).sum())} of them expiring within 7 days; "
        f"decide and qualify there, then `{push_command(Path(out).name, args.catalog, args.endpoint_url)}`"
    )
    return 1 if _not_read(df.attrs.get("failures", [])) else 0


def _push_leads(args: argparse.Namespace) -> int:
    """``push leads.xlsx``: each lead row's steps, in order, each once (see :func:`opptoolkit.push_leads`)."""
    from .leads import push_leads

    if args.catalog == "AWS" and not args.yes and not args.dry_run and not sys.stdin.isatty():
        raise OpptoolkitError("a leads workbook for the live AWS catalog needs a confirmation: pass --yes")
    conn = connect(
        args.catalog,
        client=_client(args),
        reads_per_second=args.reads_per_second,
        writes_per_second=args.writes_per_second,
        daily_write_budget=args.daily_write_budget,
    )
    try:
        result = push_leads(args.edits, conn, ledger=args.ledger, dry_run=args.dry_run)
    except ServiceUnreachable as e:
        if e.result is not None:  # what was done before the service was lost: in the results workbook too
            _lead_results(args, e.result)
        raise
    print(
        f"{how_many(len(result), 'lead step')}: {counted(result['status'].value_counts().to_dict())}. Ledger: {args.ledger}"
    )
    made = result.dropna(subset=["OpportunityId"]).drop_duplicates("row")
    for r in made.to_dict("records"):
        print(f"  row {r['row']}: opportunity {r['OpportunityId']}")
    for r in result.to_dict("records"):
        for w in r["warnings"]:
            print(f"  row {r['row']} {r['operation']} warning: {said_line(w)}")
    bad = result[~result["status"].isin([Status.SUCCEEDED, Status.SKIPPED, Status.UPDATE])]
    for r in bad.to_dict("records"):
        print(f"  row {r['row']} {r['operation']} [{r['status']}] {'; '.join(said_problems(r))}", file=sys.stderr)
    if len(result):
        _lead_results(args, result)
    return 1 if len(bad) else 0


def _lead_results(args: argparse.Namespace, result: Any) -> None:
    """Write what the leads push did into ``<name>.results.xlsx``; the push is done whatever happens here."""
    from .leads import write_lead_results

    try:
        out = write_lead_results(result, args.edits, args.results, catalog=args.catalog, endpoint_url=args.endpoint_url)
    except (OSError, OpptoolkitError) as e:
        print(f"warning: the results workbook was not written: {e}", file=sys.stderr)
        return
    print(f"results: {out} (fix what was not done there, then push that file again)")


def _snapshots(args: argparse.Namespace) -> int:
    """``snapshots``: is AWS seeing my updates? (see :func:`opptoolkit.engagements.snapshot_health`)."""
    from .engagements import snapshot_health

    if args.out and Path(args.out).suffix.lower() != ".parquet":  # before any call
        return _fail(f"--out {args.out}: name a .parquet file (what `opptoolkit report --snapshots` reads)", 2)
    conn = connect(args.catalog, client=_client(args), reads_per_second=args.reads_per_second)
    health = snapshot_health(conn)
    unseen = health[~health["aws_sees_latest"]]
    role = health.attrs.get("role")
    print(
        f"{how_many(health['Id'].nunique(), 'opportunity')} shared through engagements in {args.catalog}; "
        + (f"AWS is not seeing the latest of {unseen['Id'].nunique()}" if len(unseen) else "AWS sees the latest of all")
        + ("" if role else "; no snapshot-job role is set")
    )
    for r in unseen.to_dict("records"):
        print(f"  {r['Id']} (engagement {r['EngagementId']}): {r['action']}")
    if args.out:
        health.to_parquet(args.out)
        print(f"Kept in {args.out}: `opptoolkit report ... --snapshots {args.out}` shows it in the report.")
    return 1 if len(unseen) or not role else 0


def _push_triage(args: argparse.Namespace) -> int:
    """``push triage.xlsx``: send the workbook's accept/reject decisions (see :func:`opptoolkit.referrals.push_decisions`)."""
    from .referrals import push_decisions, read_triage

    triage = read_triage(args.edits)
    if args.catalog == "AWS" and not args.yes and not args.dry_run:
        n = int(triage["Decision"].fillna("").astype(str).str.strip().ne("").sum())
        if n and (
            not sys.stdin.isatty()
            or input(f"send {n} decisions to the live AWS catalog? [y/N] ").strip().lower() not in {"y", "yes"}
        ):
            raise OpptoolkitError(
                f"{n} decisions for the live AWS catalog need a confirmation: run in a terminal, or pass --yes"
            )
    session = _session(args)
    result = push_decisions(
        triage,
        args.catalog,
        ledger=args.ledger,
        client=_client(args, session),
        boto3_session=session,  # an s3:// ledger's too
        dry_run=args.dry_run,
        writes_per_second=args.writes_per_second,
        reads_per_second=args.reads_per_second,
        daily_write_budget=args.daily_write_budget,
    )
    print(
        f"{how_many(len(result), 'decision')}: {counted(result['status'].value_counts().to_dict())}. Ledger: {args.ledger}"
    )
    for r in result.fillna("").to_dict("records"):
        if r["OpportunityId"]:
            print(f"  row {r['row']} {r['Id']}: accepted, opportunity {r['OpportunityId']}")
    bad = result[~result["status"].isin([Status.SUCCEEDED, Status.SKIPPED, Status.UPDATE])]
    for r in bad.to_dict("records"):
        print(f"  row {r['row']} {_short(r['Id'])} [{r['status']}] {'; '.join(said_problems(r))}", file=sys.stderr)
    return 1 if len(bad) else 0


def _push(args: argparse.Namespace) -> int:
    import pandas as pd

    from .execute import CREATE, UPDATE
    from .leads import is_leads_workbook
    from .push import plan_updates, push_updates
    from .referrals import is_triage

    if is_triage(args.edits):  # a triage workbook (`opptoolkit referrals --out x.xlsx`): decisions, not updates
        return _push_triage(args)
    if is_leads_workbook(args.edits):  # a leads workbook (`opptoolkit leads --out x.xlsx`): each lead's steps
        return _push_leads(args)
    if _kind(args.edits) == "report":
        _refuse_as_pipeline(args.edits, "", "push the workbook that opptoolkit pull --out wrote, once edited")
    if _kind(args.base) != "results":  # a results workbook as the base: the export it remembers, brought up to date
        _refuse_as_pipeline(
            args.base, "--base ", "give the workbook or .parquet the edits were made on, or the mirror (or no --base)"
        )

    pd.set_option("display.max_colwidth", 90)
    pd.set_option("display.width", 200)
    if args.dry_run:
        plan = plan_updates(
            args.edits,
            args.catalog,
            base=args.base,
            blank=args.blank,
            extra=args.extra,
            client=None if args.base else _client(args),
            reads_per_second=args.reads_per_second,
        )
        _print_plan(plan)
        _results(args, plan)
        return 1 if plan["action"].isin(_NOT_SENT).any() else 0
    session = _session(args)
    client = _client(args, session)
    if not _confirmed(args, client):
        print("nothing sent", file=sys.stderr)
        return 1
    try:
        result = push_updates(
            args.edits,
            args.catalog,
            ledger=args.ledger,
            base=args.base,
            blank=args.blank,
            extra=args.extra,
            client=client,
            boto3_session=session,  # an s3:// ledger's too
            writes_per_second=args.writes_per_second,
            reads_per_second=args.reads_per_second,
            daily_write_budget=args.daily_write_budget,
        )
    except ServiceUnreachable as e:
        if isinstance(e.result, pd.DataFrame):  # what was recorded before the stop, and the rows not reached
            _results(args, e.result, complete=False)
        raise
    rows = result["operation"].isin([UPDATE, CREATE])  # the sheet's rows; then the association calls
    print(
        f"Pushed {how_many(int(rows.sum()), 'row')}: {counted(result.loc[rows, 'status'].value_counts().to_dict())}",
        end="",
    )
    if not rows.all():
        calls = counted(result.loc[~rows, "status"].value_counts().to_dict())
        print(f"; {int((~rows).sum()):,} association calls: {calls}", end="")
    print(f". Ledger: {args.ledger}")
    _print_settled(result)
    for r in result[result["status"] == Status.CREATED].to_dict("records"):
        print(f"  row {r['row']}: created {r['Id']}")
    done = result["status"].isin([Status.SUCCEEDED, Status.CREATED, Status.UNCHANGED, Status.SKIPPED])
    # sent, but AWS keeps its own value of some edited fields; or a cell emptied that the push kept
    said = (result["error_fields"].map(len) > 0) | (result["kept_fields"].map(len) > 0)
    for r in result[done & said].to_dict("records"):
        print(f"  row {r['row']} {_short(r['Id'])} [{r['status']}] {'; '.join(said_problems(r))}")
    for r in result[~done].to_dict("records"):
        print(f"  row {r['row']} {_short(r['Id'])} [{r['status']}] {'; '.join(said_problems(r))}", file=sys.stderr)
    _results(args, result)
    return 1 if (~done).any() else 0


def _print_settled(result: Any) -> None:
    """Say what the run read back of the calls earlier runs left unknown (``attrs["settled"]``)."""
    settled = result.attrs.get("settled") or {}
    if settled:
        what = ", ".join(f"{k} {v}" for k, v in sorted(settled.items()))
        print(
            f"settled {how_many(sum(settled.values()), 'call')} an earlier run left unknown, read back: {what} (in the ledger)"
        )


def _submit(args: argparse.Namespace) -> int:
    from .partner import submit_opportunities
    from .sheets import read_sheet

    targets: Any = read_sheet(args.sheet) if args.sheet else list(args.ids)
    if args.sheet and args.ids:
        raise OpptoolkitError("give opportunity Ids or --sheet, not both")
    if not args.sheet and not args.ids:
        raise OpptoolkitError("name the opportunities to submit: their Ids, or --sheet with an Id column")
    session = _session(args)
    result = submit_opportunities(
        targets,
        args.catalog,
        involvement_type=args.involvement_type,
        visibility=args.visibility,
        ledger=args.ledger,
        operation=args.operation,
        client=_client(args, session),
        boto3_session=session,  # an s3:// ledger's too
        reads_per_second=args.reads_per_second,
    )
    print(
        f"Submitted {how_many(len(result), 'opportunity')}: {counted(result['status'].value_counts().to_dict())}. ",
        end="",
    )
    print(f"Ledger: {args.ledger}")
    _print_settled(result)
    where = "row " if args.sheet else "#"  # a sheet's row number, else the Id's place on the command line
    for r in result.fillna("").to_dict("records"):
        task = f" task {r['task_id']} {r['task_status']} engagement {r['engagement_id']}" if r["task_id"] else ""
        problem = f" {'; '.join(said_problems(r))}" if r["error_code"] else ""
        print(f"  {where}{r['row']} {_short(r['Id'])} [{r['status']}]{task}{problem}")
        for w in r["warnings"]:
            print(f"    warning: {said_line(w)}")
    return 1 if (~result["status"].isin([Status.SUCCEEDED, Status.SKIPPED])).any() else 0


def _results(args: argparse.Namespace, outcome: Any, complete: bool = True) -> None:
    """Write the outcome into ``<name>.results.xlsx``; the push is done whatever happens here."""
    from .io import write_results

    try:
        where = {"catalog": getattr(args, "catalog", None), "endpoint_url": getattr(args, "endpoint_url", None)}
        out = write_results(
            outcome, args.edits, args.results, base=args.base, blank=args.blank, complete=complete, **where
        )
    except (OSError, OpptoolkitError) as e:
        print(f"warning: the results workbook was not written: {e}", file=sys.stderr)
        return
    fine = {Status.UPDATE, Status.CREATE, Status.UNCHANGED, Status.SUCCEEDED, Status.CREATED, Status.SKIPPED}
    column = "status" if "status" in outcome.columns else "action"  # a push's outcome, else a plan's
    if outcome[column].isin(fine).all():
        print(f"Results: {out} (each row's outcome; edit and push that file from now on).")
    else:
        print(f"Results: {out}: fix the rows marked there, then push that file again.")


def _report(args: argparse.Namespace) -> int:
    import pandas as pd

    from .frame import snapshot_time
    from .io import read_frame
    from .mirror import MIRROR_FILE, read_mirror, snapshots
    from .referrals import read_triage
    from .report import write_report

    if _kind(args.frame) == "triage":
        name = Path(args.frame).name
        _refuse_as_pipeline(args.frame, "", f"report the pipeline, and add the referrals with --referrals {name}")
    _refuse_as_pipeline(args.frame, "", "report a workbook or .parquet from opptoolkit pull, or the mirror")
    if args.since and Path(args.since).is_file():
        _refuse_as_pipeline(args.since, "--since ", "give an earlier pull (a workbook or .parquet), or a date")
    df = read_frame(args.frame)
    frame: Any = args.frame if is_s3(args.frame) else Path(args.frame)
    is_mirror = is_s3(args.frame) or frame.is_dir() or frame.name == MIRROR_FILE
    since = None
    if args.since and Path(args.since).exists():  # an earlier export of the pipeline
        since = read_frame(args.since)
    elif args.since and is_mirror:
        since = read_mirror(frame, as_of=args.since)
    elif args.since:
        return _fail(
            f"--since {args.since}: a date needs a mirror (its folder) as the frame, else give an earlier file", 2
        )
    elif is_mirror and len(kept := snapshots(frame)) >= 2:  # the sync before the latest
        since = read_mirror(frame, as_of=kept[-2])
    fx: Any = args.fx
    if fx and not Path(fx).exists() and "=" in fx:  # EUR=1.08,GBP=1.27
        pairs = [pair.split("=", 1) for pair in fx.split(",") if pair.strip()]
        if not pairs or any(len(p) != 2 or not p[0].strip() for p in pairs):
            return _fail("--fx takes CURRENCY=RATE pairs, e.g. EUR=1.08,GBP=1.27, or a .csv or .json file of them")
        fx = dict(pairs)
    invitations = None
    if args.referrals:  # what opptoolkit referrals --out wrote: the invitations as read then
        ref = Path(args.referrals)
        if ref.suffix.lower() == ".parquet":
            invitations = pd.read_parquet(ref)
        else:
            invitations = read_triage(ref)
    health = None
    if args.snapshots:  # what opptoolkit snapshots --out kept
        health = pd.read_parquet(args.snapshots)
    with written(args.html) as html, written(args.xlsx) if args.xlsx else nullcontext() as xlsx:
        views = write_report(
            df,
            html,
            xlsx=xlsx,
            since=since,
            fx=fx or None,
            to=args.currency,
            invitations=invitations,
            ledger=args.ledger,
            snapshots=health,
        )
    skipped = [name for name, v in views.items() if isinstance(v, str)]
    print(
        f"Wrote the report of {how_many(len(df), 'opportunity')}: {args.html}"
        + (f" and {args.xlsx}." if args.xlsx else ".")
    )
    if since is not None:
        when = snapshot_time(since)
        print(
            f"It is compared with {how_many(len(since), 'opportunity')} as of {f'{when:%Y-%m-%d %H:%M} UTC' if when else args.since}."
        )
    for name in skipped:
        print(f"  {name}: {views[name]}", file=sys.stderr)
    return 0


def _enum_of(operation: str, member: str) -> list[str]:
    """Return the model's values of an operation's input member (choices of an option)."""
    shape = service_model().operation_model(operation).input_shape
    return list(shape.members[member].enum)  # type: ignore[union-attr]


def _aws_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", required=True, choices=_catalogs() or None, help="always explicit")
    p.add_argument("--endpoint-url", help="a sandbox endpoint, e.g. http://127.0.0.1:8787")
    p.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    p.add_argument("--region", help="AWS region (default: the profile's, else us-east-1)")
    p.add_argument(
        "--reads-per-second",
        type=_positive(float),
        help=f"read pacing (default: the documented quota, {READS_PER_SECOND:g}, or OPPTOOLKIT_READS_PER_SECOND)",
    )


def _sandbox(args: argparse.Namespace) -> int:
    from .sandbox import Sandbox, SandboxConfig

    config = SandboxConfig.fast() if args.fast else SandboxConfig()
    config.fault_rate = args.fault_rate
    config.latency = args.latency
    _check_db(args.db)
    try:
        sandbox = Sandbox(args.db, port=args.port, config=config, seed=not args.no_seed)
    except sqlite3.DatabaseError:  # what _check_db cannot see: a file SQLite still refuses
        raise OpptoolkitError(
            f"--db {args.db} cannot be opened as the sandbox's SQLite file: name a new file, "
            "or one an earlier sandbox wrote"
        ) from None
    except OSError as e:
        if e.errno != errno.EADDRINUSE:
            raise
        raise OpptoolkitError(
            f"port {args.port} on 127.0.0.1 is in use (another sandbox?): pass --port N, or --port 0 for any free port"
        ) from None
    with sandbox as sb:
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


#: The first 16 bytes of every SQLite database file (https://www.sqlite.org/fileformat.html, "The Database Header").
_SQLITE_HEADER = b"SQLite format 3\x00"


def _check_db(db: str) -> None:
    """Refuse a ``--db`` SQLite could not open, saying why (before any port is bound)."""
    if db == ":memory:" or db.startswith("file:"):
        return
    path = Path(db)
    if path.is_dir():
        raise OpptoolkitError(f"--db {db} is a folder: name a file in it, e.g. --db {path / 'sandbox.db'}")
    above = next((p for p in path.parents if p.exists()), None)
    if above is not None and not above.is_dir():
        raise OpptoolkitError(f"--db {db}: {above} is a file, not a folder: name a file in a folder")
    if path.is_file() and path.stat().st_size:
        with open(path, "rb") as fh:
            if fh.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                raise OpptoolkitError(
                    f"--db {db} is not a SQLite database (the sandbox's state file): name a new file, "
                    "or one an earlier sandbox wrote"
                )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``opptoolkit`` command.

    Parameters
    ----------
    argv : list of str, optional
        The arguments; default ``sys.argv[1:]``.

    Returns
    -------
    int
        The exit status: 0 all good; 1 some rows were not applied or read (``--dry-run``: would not
        be sent); 2 bad input or usage, or the service cannot be reached; 3 an unexpected error; 130
        interrupted (see ``opptoolkit --help``).

    Examples
    --------
    >>> import tempfile
    >>> from opptoolkit.sandbox import Sandbox, SandboxConfig
    >>> out = Path(tempfile.mkdtemp()) / "pipeline.parquet"
    >>> with Sandbox(config=SandboxConfig.fast()) as sb:  # doctest: +ELLIPSIS
    ...     main(["pull", "--catalog", "Sandbox", "--endpoint-url", sb.endpoint_url, "--id", "O7000000001",
    ...           "--out", str(out), "--reads-per-second", "1000"])
    Pulled 1 opportunity from the Sandbox catalog into ...pipeline.parquet (... columns).
    0
    """
    parser = _Parser(
        prog="opptoolkit", description=__doc__, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help=_VERBOSE,
    )
    # -v after the command too (`opptoolkit pull ... -v`): each command takes it, and leaves the count
    # given before the command alone when it is not repeated after it
    verbose = _Parser(add_help=False)
    verbose.add_argument("-v", "--verbose", action="count", default=argparse.SUPPRESS, help=_VERBOSE)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", parents=[verbose], help="run the end-to-end demo against the embedded sandbox")
    demo.add_argument("--out", default="data/demo", help="folder for the demo's outputs")
    demo.set_defaults(func=_demo)
    pull = sub.add_parser("pull", parents=[verbose], help="pull opportunities into .parquet, .xlsx or .csv")
    _aws_options(pull)
    pull.add_argument("--out", required=True, help="pipeline.parquet | pipeline.xlsx | pipeline.csv")
    pull.add_argument(
        "--summary-only", action="store_true", help="ListOpportunities summaries only (no GetOpportunity)"
    )
    pull.add_argument(
        "--stage",
        action="append",
        type=_one_of("ListOpportunities", "LifeCycleStage", "a stage"),
        help="filter by LifeCycle.Stage (repeatable)",
    )
    pull.add_argument(
        "--review-status",
        action="append",
        type=_one_of("ListOpportunities", "LifeCycleReviewStatus", "a review status"),
        help="filter by LifeCycle.ReviewStatus (repeatable)",
    )
    pull.add_argument("--id", action="append", help="filter by opportunity Id (repeatable)")
    pull.add_argument("--customer", action="append", help="filter by customer company name (repeatable)")
    pull.add_argument(
        "--modified-after", type=_instant, help="only opportunities modified after this ISO date or date-time (UTC)"
    )
    pull.add_argument(
        "--headers",
        choices=["path", "label"],
        default=None,
        help="sheet headers: friendly labels or dotted paths (default: labels in .xlsx, paths in .csv)",
    )
    pull.add_argument("--drop-empty", action="store_true", help="leave out columns empty in every row")
    pull.set_defaults(func=_pull)
    tpl = sub.add_parser(
        "template", parents=[verbose], help="write an empty workbook to create opportunities from (new.xlsx)"
    )
    tpl.add_argument("out", metavar="OUT.xlsx", help="the workbook to write")
    tpl.add_argument("--catalog", required=True, choices=_catalogs() or None, help="the catalog to push it to")
    tpl.add_argument("--endpoint-url", help="a sandbox endpoint the Read me's push command names")
    tpl.set_defaults(func=_template)
    sync = sub.add_parser(
        "sync", parents=[verbose], help="bring a mirror (a folder or s3://bucket/prefix) up to date (incremental)"
    )
    sync.add_argument("mirror_path", nargs="?", metavar="MIRROR", help="folder or s3://bucket/prefix of the mirror")
    _aws_options(sync)
    sync.add_argument("--mirror", help="the same as MIRROR")
    sync.add_argument(
        "--events", help="sync only what Partner Central's events name: an SQS queue URL or a file of events"
    )
    sync.add_argument(
        "--reconcile", action="store_true", help="list every summary: read what changed, remove what is gone"
    )
    sync.add_argument(
        "--vacuum-days", type=float, help="then delete the files of versions replaced more than this many days ago"
    )
    sync.add_argument("--full", action="store_true", help="force a full pull")
    sync.add_argument(
        "--engagements",
        metavar="FOLDER",
        help="then keep the engagements too, in this folder or s3:// prefix (a mirror of their own)",
    )
    sync.add_argument(
        "--aws-summary", action="store_true", help="keep AWS's view (Aws.* columns) of what this sync fetches"
    )
    sync.add_argument(
        "--refresh-aws",
        action="store_true",
        help="read AWS's view of every mirrored opportunity again (one read each: AWS's changes have no date)",
    )
    sync.set_defaults(func=_sync)
    push = sub.add_parser(
        "push", parents=[verbose], help="push the changed rows of an edited sheet (or plan them with --dry-run)"
    )
    push.add_argument("edits", help="edited .xlsx / .csv (with an Id column)")
    _aws_options(push)
    push.add_argument("--ledger", default="ledger", help="folder of the Parquet ledger (resume: same folder)")
    push.add_argument(
        "--base",
        help="the export as it was (sheet, .parquet or mirror folder) for three-way merges; "
        "an edited workbook from `pull --out x.xlsx` carries its own",
    )
    push.add_argument(
        "--blank", choices=["keep", "clear"], default="keep", help="a blank cell keeps or clears the value"
    )
    push.add_argument(
        "--extra",
        choices=["error", "keep"],
        default="error",
        help="columns no field has (an analyst's notes): refuse the sheet, or keep them out of the push",
    )
    push.add_argument("--dry-run", action="store_true", help="show the plan, send nothing")
    push.add_argument(
        "--results", help="the workbook of each row's outcome to write (default: <name>.results.xlsx beside EDITS)"
    )
    push.add_argument("--yes", action="store_true", help="write to the AWS catalog without asking for confirmation")
    push.add_argument(
        "--writes-per-second",
        type=_positive(float),
        help=f"write pacing (default: the documented quota, {WRITES_PER_SECOND:g}, or OPPTOOLKIT_WRITES_PER_SECOND)",
    )
    push.add_argument(
        "--daily-write-budget",
        type=_positive(int, zero=True),
        default=DAILY_WRITES,
        help=f"writes per rolling 24 h (documented: {DAILY_WRITES:,})",
    )
    push.set_defaults(func=_push)
    ref = sub.add_parser(
        "referrals", parents=[verbose], help="AWS's engagement invitations into a triage workbook (.xlsx) or a frame"
    )
    _aws_options(ref)
    ref.add_argument("--out", required=True, help="triage.xlsx (decide, then `opptoolkit push triage.xlsx`) | .parquet")
    ref.add_argument(
        "--status",
        action="append",
        type=_one_of("ListEngagementInvitations", "Status", "an invitation status"),
        help="only these invitation statuses, e.g. PENDING (repeatable)",
    )
    ref.set_defaults(func=_referrals)
    lead = sub.add_parser(
        "leads", parents=[verbose], help="AWS's leads into a workbook: accept, qualify, convert, submit, then push it"
    )
    _aws_options(lead)
    lead.add_argument("--out", required=True, help="leads.xlsx (edit it, then `opptoolkit push leads.xlsx`)")
    lead.set_defaults(func=_leads)
    snaps = sub.add_parser(
        "snapshots", parents=[verbose], help="is AWS seeing my updates? the snapshot jobs of shared opportunities"
    )
    _aws_options(snaps)
    snaps.add_argument(
        "--out", metavar="FILE.parquet", help="also keep what was found, for `opptoolkit report --snapshots FILE`"
    )
    snaps.set_defaults(func=_snapshots)
    submit = sub.add_parser(
        "submit", parents=[verbose], help="submit opportunities to AWS for review (a readiness check first)"
    )
    submit.add_argument("ids", nargs="*", help="opportunity Ids (or --sheet)")
    submit.add_argument("--sheet", help="a sheet (.xlsx / .csv) whose Id column names them")
    _aws_options(submit)
    submit.add_argument("--ledger", default="ledger", help="folder of the Parquet ledger (resume: same folder)")
    submit.add_argument("--involvement-type", required=True, choices=_enum_of("SubmitOpportunity", "InvolvementType"))
    submit.add_argument("--visibility", choices=_enum_of("SubmitOpportunity", "Visibility"))
    submit.add_argument(
        "--operation",
        choices=["StartEngagementFromOpportunityTask", "SubmitOpportunity"],
        default="StartEngagementFromOpportunityTask",
        help="how to submit (default: StartEngagementFromOpportunityTask, as the developer guide does)",
    )
    submit.set_defaults(func=_submit)
    rep = sub.add_parser(
        "report", parents=[verbose], help="pipeline report: one self-contained HTML file (and an .xlsx)"
    )
    rep.add_argument("frame", help="pipeline.parquet | pipeline.xlsx | pipeline.csv | a mirror folder")
    rep.add_argument("--html", default="report.html", help="the HTML report to write")
    rep.add_argument("--xlsx", help="also write the views as a workbook, one sheet per view")
    rep.add_argument(
        "--since",
        help="compare with the mirror as of this date (YYYY-MM-DD) or with an earlier export (a file); "
        "default for a mirror: its sync before the latest",
    )
    rep.add_argument(
        "--fx", help="FX rates into --currency: a .csv (currency,rate) or .json file, or EUR=1.08,GBP=1.27"
    )
    rep.add_argument("--currency", help="the one currency money is shown in (with --fx)")
    rep.add_argument(
        "--referrals",
        metavar="TRIAGE.xlsx",
        help="add a Referrals section: the invitations opptoolkit referrals --out wrote (.xlsx or .parquet)",
    )
    rep.add_argument("--ledger", help="with --referrals: the ledger the decisions were pushed into")
    rep.add_argument(
        "--snapshots",
        metavar="FILE.parquet",
        help="what `opptoolkit snapshots --out FILE` found: a section of the opportunities AWS is not seeing",
    )
    rep.set_defaults(func=_report)
    sb = sub.add_parser("sandbox", parents=[verbose], help="run the local Partner Central Selling API")
    sb.add_argument("--port", type=_port, default=8787, help="TCP port on 127.0.0.1 (0: any free port)")
    sb.add_argument("--db", default=":memory:", help="SQLite file that keeps state across restarts")
    sb.add_argument(
        "--fast",
        action="store_true",
        help=f"quotas of 1,000/s instead of the documented {READS_PER_SECOND:g} reads/s, {WRITES_PER_SECOND:g} write/s",
    )
    sb.add_argument("--no-seed", action="store_true", help="start empty instead of with the seed opportunities")
    sb.add_argument("--fault-rate", type=_share, default=0.0, help="share of requests answered InternalServerException")
    sb.add_argument("--latency", type=_positive(float, zero=True), default=0.0, help="seconds added to every request")
    sb.set_defaults(func=_sandbox)
    args = parser.parse_args(argv)
    _logging(args.verbose)
    return _run(args)


def _logging(verbose: int) -> None:
    """``-v``: INFO for opptoolkit's own loggers only.

    Botocore's DEBUG log prints whole request and response bodies (customer data), so botocore, boto3 and
    urllib3 stay at WARNING whatever ``-v`` says.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if verbose:
        logging.getLogger("opptoolkit").setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    for name in ("botocore", "boto3", "urllib3", "s3transfer"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _fail(message: str, status: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


def _run(args: argparse.Namespace) -> int:
    """Run the command; every error becomes one line on stderr and an exit status (never a traceback)."""
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        resumable = args.command in ("push", "submit")
        resume = f"; run the same command again (--ledger {args.ledger}) to resume" if resumable else ""
        return _fail("interrupted" + resume, 130)
    except bce.ProfileNotFound as e:
        return _fail(f"{e}: pick one of `aws configure list-profiles`, or leave out --profile")
    except (bce.BotoCoreError, bce.ClientError) as e:
        if (u := unreachable(e)) is not None:
            return _fail(str(u))
        code, message = code_and_message(e)
        return _fail(f"the service refused the request: {code}: {message}")
    except OpptoolkitError as e:
        return _fail(str(e))
    except FileNotFoundError as e:
        return _fail(f"no such file or folder: {e.filename or e}")
    except OSError as e:
        return _fail(f"{e.strerror or type(e).__name__}: {e.filename or e}")
    except Exception as e:  # a bug: name it in one line; the traceback goes to the debug log (-vv)
        _log.debug("unexpected error", exc_info=True)
        return _fail(f"unexpected {type(e).__name__}: {e} (a bug: please report it; -vv logs the details)", 3)


if __name__ == "__main__":
    sys.exit(main())
