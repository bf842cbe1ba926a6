"""mt0 check: before a long job, every task of a mixture reads, renders and tokenizes its first records
(with --full: every record, counted)."""

from __future__ import annotations

import dataclasses
import sys
import time


def add_parser(sub) -> None:
    p = sub.add_parser("check", help="check that every task of a mixture can read, render and tokenize its data")
    p.add_argument("name", help="task or mixture name")
    p.add_argument("-n", "--examples", type=int, default=3, metavar="N", help="examples per task (default 3)")
    p.add_argument("--split", help="split to check (default: train; validation for *_eval names)")
    p.add_argument("--workers", type=int, default=8, help="tasks checked at a time (default 8)")
    p.add_argument("--full", action="store_true",
                   help="read every record of the split, in every file, and count them; any damage, a record "
                        "that is not a JSON object included, fails the task (slow on real data; once after a "
                        "download)")
    p.add_argument("--json", action="store_true", help="one JSON object per task, then the summary")
    p.set_defaults(func=run)


def run(args) -> int:
    from multilingual_t0.cli.common import print_json, progress
    from multilingual_t0.jobs.check import check
    from multilingual_t0.pipeline.vocab import check_vocabulary

    if args.examples < 1:
        raise ValueError(f"-n must be at least 1, got {args.examples}")
    check_vocabulary()
    start = time.time()
    bar = progress(iter(()), desc="checking", unit="task")
    results = check(args.name, split=args.split, num_examples=args.examples, workers=args.workers,
                    on_task=lambda _: bar.update(1), full=args.full)
    bar.close()
    failed = [r for r in results if not r.ok]
    unverified = sum(r.unverified for r in results)
    summary = {"name": args.name, "tasks": len(results), "ok": len(results) - len(failed), "failed": len(failed),
               "full": args.full, "records": sum(r.records for r in results),
               "bad_records": sum(r.bad_records for r in results), "unverified_files": unverified,
               "seconds": round(time.time() - start, 1)}
    if args.json:
        print_json({"summary": summary, "tasks": [dataclasses.asdict(r) for r in results]})
    else:
        for r in failed:
            print(f"FAIL {r.task} [{r.split}] {r.origin}: {r.error}")
        how = (f"every record: {summary['records']:,} read" if args.full
               else f"{args.examples} examples each")
        print(f"{args.name}: {summary['tasks']} tasks checked ({how}), {summary['ok']} ok, "
              f"{summary['failed']} failed, in {summary['seconds']} s")
        if unverified:
            print(f"{unverified} gzip file(s) over 64 MB were not read to their end; --full reads every record")
    if failed:
        print(f"mt0 check: {len(failed)} task(s) cannot read their data; see the lines above "
              "(--json for every message)", file=sys.stderr)
    return 1 if failed else 0
