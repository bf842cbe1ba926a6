"""mt0 export: the prompted data as files (one per task) plus a manifest; resumable."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="write the prompted examples of a task or mixture to files")
    p.add_argument("name", help="task or mixture name")
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (re-run to resume)")
    p.add_argument("--format", default="jsonl", choices=("jsonl", "parquet"))
    p.add_argument("--split", help="split (default: train, else each task's first split)")
    p.add_argument("--max-examples", type=int, metavar="N", help="at most N examples per task")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from multilingual_t0.cli.common import print_json
    from multilingual_t0.jobs.export import export

    def report(task: str, count: int) -> None:
        print(f"  {task}: {count} examples", file=sys.stderr)

    manifest = export(args.name, args.out, split=args.split, fmt=args.format,
                      max_examples=args.max_examples, on_task=report)
    if args.json:
        print_json(manifest)
    else:
        total = sum(t["examples"] for t in manifest["tasks"].values())
        print(f"{len(manifest['tasks'])} task files, {total} examples, manifest at {args.out}/manifest.json")
        print(f'load with: datasets.load_dataset("{"json" if args.format == "jsonl" else "parquet"}", '
              f'data_files="{args.out}/*.{args.format}")')
    return 0
