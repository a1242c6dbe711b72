"""``python -m bench [--only due|ingest|batch|cost|floor] [--variant …] [--pg [URL]] [--no-sqlite] …``.

PostgreSQL runs when ``--pg`` is given or ``GENDAN_TEST_DATABASE_URL`` names a PostgreSQL
server (a fresh schema, dropped afterwards). Prints a table; exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from bench.batch import REQUESTS, print_batch, run_batch
from bench.bench_due import Result, build_tables, run_postgres, run_sqlite
from bench.cost import print_cost, run_cost
from bench.data import History, Shape
from bench.floor import print_floor, run_floor
from bench.ingest import VARIANTS, print_ingest, run_ingest


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--pg", nargs="?", const=os.environ.get("GENDAN_TEST_DATABASE_URL", ""), default=None,
                   help="PostgreSQL URL (default: $GENDAN_TEST_DATABASE_URL)")
    p.add_argument("--no-sqlite", action="store_true")
    p.add_argument("--orders", type=int, default=1_000_000, help="due, batch: orders in the database")
    p.add_argument("--open", type=int, default=100_000, help="due, batch: open orders among them")
    p.add_argument("--due", type=int, default=10_000, help="due reminders to claim")
    p.add_argument("--runs", type=int, default=9, help="runs per query (the median is reported)")
    p.add_argument("--only", choices=("due", "ingest", "batch", "cost", "floor"), default=None,
                   help="run one benchmark")
    p.add_argument("--seconds", type=float, default=8.0, help="ingest: seconds of load per figure")
    p.add_argument("--conns", type=int, default=32, help="ingest: concurrent connections")
    p.add_argument("--variant", choices=VARIANTS, default=None,
                   help="ingest: only POST /local/message, or only the signed WeCom AI-bot callback (default: both)")
    p.add_argument("--import-rows", type=int, default=100_000, help="batch: order rows in the imported file")
    p.add_argument("--requests", type=int, default=REQUESTS, help="batch: timed requests per page (after a warm-up)")
    p.add_argument("--part", choices=("import", "pages", "export"), default=None,
                   help="batch: only the import, or the pages (with the export), or the export alone")
    return p.parse_args(argv)


def _print(results: list[Result]) -> None:
    print(f"{'backend':<11} {'measure':<46} {'value':>10}  {'goal':>8}  result  note")
    for r in results:
        goal = f"{r.goal:g} {r.unit}" if r.goal is not None else "—"
        verdict = ("ok" if r.ok else "MISSED") if r.goal is not None else ""
        print(f"{r.backend:<11} {r.name:<46} {r.value:>7.1f} {r.unit:<2}  {goal:>8}  {verdict:<6}  {r.note}")


async def _main(args: argparse.Namespace) -> int:
    pg = args.pg if args.pg is not None else os.environ.get("GENDAN_TEST_DATABASE_URL", "")
    missed = 0
    if args.only in (None, "cost"):
        print_cost(await run_cost(pg if pg.startswith("postgresql") else None, not args.no_sqlite))
    if args.only in (None, "floor"):
        print_floor(await run_floor(pg if pg.startswith("postgresql") else None, not args.no_sqlite, args.conns,
                                    args.seconds))
    if args.only in (None, "ingest"):
        ingest = await run_ingest(pg if pg.startswith("postgresql") else None, not args.no_sqlite,
                                  args.conns, args.seconds, (args.variant,) if args.variant else VARIANTS)
        print_ingest(ingest)
        missed += sum(not r.ok for r in ingest)
    if args.only in (None, "due"):
        missed += await _due(args, pg)
    if args.only in (None, "batch"):
        batch = await run_batch(pg if pg.startswith("postgresql") else None, not args.no_sqlite, args.import_rows,
                                History(orders=args.orders, open=args.open), args.requests,
                                (args.part,) if args.part else ("import", "pages"))
        print_batch(batch)
        missed += sum(not r.ok for r in batch)
    return 1 if missed else 0


async def _due(args: argparse.Namespace, pg: str) -> int:
    shape = Shape(orders=args.orders, open=args.open, due_reminders=args.due)
    tables, built = build_tables(shape)
    print(f"data: {shape.orders:,} orders ({shape.open:,} open), {shape.due_reminders:,} due reminders; "
          f"built in {built:.1f} s", flush=True)
    results: list[Result] = []
    if not args.no_sqlite:
        results += await run_sqlite(shape, args.runs, tables)
    if pg.startswith("postgresql"):
        results += await run_postgres(pg, shape, args.runs, tables)
    _print(results)
    return sum(not r.ok for r in results)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    return asyncio.run(_main(_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
