"""Command line of the ETL: ``python -m etl generate|refresh|watch|rollback|forget ...`` (``--help`` on each)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from dataclasses import replace
from pathlib import Path

from app.config import Settings

# the keys of etl.synthetic.PROFILES (a test checks), spelled here so that the CLI parses without numpy
PROFILE_NAMES = ("default", "many-learners")


def _cmd_generate(args: argparse.Namespace) -> int:
    from etl.generate import generate_export

    summary = generate_export(args.out, events=args.events, tenants=args.tenants, seed=args.seed,
                              end_date=args.end_date, days=args.days, profile=args.profile,
                              zones=not args.utc, assignments=not args.no_assignments,
                              assignment_rows=args.assignment_rows)
    print(json.dumps(summary))
    return 0


def _cmd_refresh(args: argparse.Namespace, settings: Settings) -> int:
    from etl.refresh import refresh_with_settings

    result = refresh_with_settings(settings, force=args.force)
    print(result.message)
    if result.report.get("timings"):
        print("steps: " + ", ".join(f"{step} {seconds:.2f}s" for step, seconds in result.report["timings"].items()))
    if result.report_path:
        print(f"report: {result.report_path}")
    return result.exit_code


def _cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    from etl.watch import watch

    return watch(settings, args.interval)


def _cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    """Publish an older snapshot, then the same propagation as a refresh (``etl.rollback``)."""
    from etl.rollback import rollback

    result, warnings = rollback(settings, args.to)
    print(result.message)
    for warning in warnings:
        print(f"warning: {warning}")
    if result.report_path:
        print(f"report: {result.report_path}")
    return result.exit_code


def _cmd_forget(args: argparse.Namespace, settings: Settings) -> int:
    """Erase learners everywhere, then print the receipt (``etl.forget``)."""
    from etl.forget import forget

    user_ids = list(args.user or [])
    if args.users_from:
        user_ids += _read_user_ids(args.users_from)
    if not user_ids:
        print("forget: no user id given (--user U, or --users-from FILE with one id a line)", file=sys.stderr)
        return 2
    result, receipt = forget(settings, args.tenant, user_ids)
    print(json.dumps(receipt.to_dict(), indent=2))
    if result.report_path:
        print(f"report: {result.report_path}")
    return result.exit_code


def _read_user_ids(path: str) -> list[str]:
    """User ids, one a line (``-``: standard input), taken as they are (no space trimmed), blank lines skipped.

    The DELETE route passes the id this way: a process's arguments are visible to
    every local user (``ps``), and an erased learner's id is personal data.
    """
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    return [line.removesuffix("\r") for line in text.split("\n") if line.removesuffix("\r")]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m etl", description="Dataviz ETL: exports → snapshots.")
    sub = p.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a synthetic LMS export")
    g.add_argument("--events", type=int, default=1_000_000, help="number of activity rows (default 1,000,000)")
    g.add_argument("--profile", choices=PROFILE_NAMES, default="default",
                   help="shape of the data: default (the demo's: 30 tenants, ~120 events per learner) or "
                        "many-learners (200 tenants with a long tail, a handful of events per learner, "
                        "unique event ids)")
    g.add_argument("--tenants", type=int, default=None, help="number of tenants (default: the profile's, 30 or 200)")
    g.add_argument("--seed", type=int, default=1, help="random seed: same seed and dates, same bytes (default 1)")
    g.add_argument("--end-date", type=_date, default=None, help="last day of activity (default: yesterday, UTC)")
    g.add_argument("--days", type=int, default=730, help="days of history (default 730)")
    g.add_argument("--utc", action="store_true",
                   help="no tenants.csv: every tenant on UTC (default: a spread of 10 time zones, with names)")
    g.add_argument("--no-assignments", action="store_true",
                   help="no assignments.csv (default: most tenants assign trainings with due dates)")
    g.add_argument("--assignment-rows", type=int, default=None, metavar="N",
                   help="exactly N rows in assignments.csv, repeated keys and bad dates included "
                        "(default: about 8%% as many as events)")
    g.add_argument("--out", default=None, help="folder or s3://bucket/prefix (default: DATAVIZ_SOURCE)")

    r = sub.add_parser("refresh", help="load the newest complete export into a new live snapshot")
    r.add_argument("--source", help="folder or s3://bucket/prefix (default: DATAVIZ_SOURCE)")
    r.add_argument("--snapshot-dir", help="snapshot folder (default: DATAVIZ_SNAPSHOT_DIR)")
    r.add_argument("--force", action="store_true", help="refresh even if the newest export is already live")
    r.add_argument("--engine", choices=("pandas", "dask"),
                   help="pandas: one process (default); dask: a Dask cluster, for exports too big for one machine "
                        "(default: DATAVIZ_ETL_ENGINE)")
    r.add_argument("--scheduler", help="Dask scheduler address, tcp://host:8786 (default: DATAVIZ_DASK_SCHEDULER; "
                                       "none: a local cluster, one worker process per core)")

    w = sub.add_parser("watch", help="refresh whenever a new complete export appears (stops on SIGTERM)")
    w.add_argument("--interval", type=float, default=300.0, help="seconds between two looks at the source (default 300)")
    w.add_argument("--source", help="folder or s3://bucket/prefix (default: DATAVIZ_SOURCE)")
    w.add_argument("--snapshot-dir", help="snapshot folder (default: DATAVIZ_SNAPSHOT_DIR)")

    b = sub.add_parser("rollback", help="make an earlier snapshot live again")
    b.add_argument("--to", help="the version to make live (default: the one before the live one)")
    b.add_argument("--snapshot-dir", help="snapshot folder (default: DATAVIZ_SNAPSHOT_DIR)")

    f = sub.add_parser("forget", help="erase learners from every snapshot, report and cache, and keep them out "
                                      "of later refreshes (needs DATAVIZ_ERASURE_KEY)")
    f.add_argument("--tenant", required=True, help="the learners' tenant id")
    f.add_argument("--user", action="append", help="a user id to erase (repeat for several)")
    f.add_argument("--users-from", metavar="FILE",
                   help="a file of user ids to erase, one a line; - reads them from standard input (keeps them "
                        "out of the process list)")
    f.add_argument("--source", help="folder or s3://bucket/prefix (default: DATAVIZ_SOURCE)")
    f.add_argument("--snapshot-dir", help="snapshot folder (default: DATAVIZ_SNAPSHOT_DIR)")
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    settings = Settings.from_env()
    if args.command == "generate":
        args.out = args.out or settings.source
        return _cmd_generate(args)
    settings = replace(settings, source=getattr(args, "source", None) or settings.source,
                       snapshot_dir=args.snapshot_dir or settings.snapshot_dir)
    if args.command == "refresh":
        settings = replace(settings, etl_engine=args.engine or ("dask" if args.scheduler else settings.etl_engine),
                           dask_scheduler=args.scheduler or settings.dask_scheduler)
        return _cmd_refresh(args, settings)
    if args.command == "watch":
        return _cmd_watch(args, settings)
    if args.command == "forget":
        return _cmd_forget(args, settings)
    return _cmd_rollback(args, settings)


if __name__ == "__main__":
    sys.exit(main())
