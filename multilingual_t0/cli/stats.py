"""mt0 stats: per task rate and share, token-length percentiles, and what the lengths would truncate."""

from __future__ import annotations

from typing import Dict, List

import numpy as np

PERCENTILES = (50, 90, 99)


def add_parser(sub) -> None:
    p = sub.add_parser("stats", help="token-length statistics and truncation at given feature lengths")
    p.add_argument("name", help="task or mixture name")
    p.add_argument("--lengths", default="inputs=1024,targets=256",
                   help="feature lengths to check truncation against (default inputs=1024,targets=256)")
    p.add_argument("-n", type=int, default=200, help="examples read per task (default 200)")
    p.add_argument("--split", help="split (default: train, else the task's first split)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def length_stats(lengths: List[int], limit: int) -> Dict[str, float]:
    """Percentiles of token lengths and the fraction longer than `limit`."""
    if not lengths:
        return {"count": 0}
    arr = np.asarray(lengths)
    out = {"count": int(arr.size), "mean": float(arr.mean()), "max": int(arr.max())}
    out.update({f"p{p}": float(np.percentile(arr, p)) for p in PERCENTILES})
    out["truncated"] = float(np.mean(arr > limit))
    return out


def run(args) -> int:
    from multilingual_t0.cli.common import parse_lengths, print_json, print_table, progress
    from multilingual_t0.registry.lookup import leaf_tasks_with_rates
    from multilingual_t0.pipeline.examples import default_split, iter_tokenized

    limits = parse_lengths(args.lengths)
    tasks = leaf_tasks_with_rates(args.name)
    report, all_lengths = [], {k: [] for k in limits}
    for task, rate, share in progress(tasks, total=len(tasks), desc="tasks", unit="task"):
        split = default_split(task, args.split)
        lengths = {k: [] for k in limits}
        for _, ex in zip(range(args.n), iter_tokenized(task, split)):
            for key in limits:
                if key in ex:
                    lengths[key].append(len(ex[key]))
        row = {"task": task.name, "split": split, "rate": rate, "share": share}
        for key, limit in limits.items():
            row[key] = length_stats(lengths[key], limit)
            all_lengths[key] += lengths[key]
        report.append(row)
    # Mixture-wide truncation: each task's fraction weighted by its share of the mixture.
    overall = {key: sum(r["share"] * r[key].get("truncated", 0.0) for r in report) for key in limits}
    if args.json:
        print_json({"name": args.name, "lengths": limits, "tasks": report, "truncated_share": overall})
        return 0
    headers = ["task", "share"]
    for key in limits:
        headers += [f"{key} p50", "p90", "p99", "max", f">{limits[key]}"]
    rows = []
    for r in report:
        row = [r["task"], f"{100 * r['share']:.2f}%"]
        for key in limits:
            s = r[key]
            row += [s.get("p50"), s.get("p90"), s.get("p99"), s.get("max"),
                    f"{100 * s['truncated']:.1f}%" if s.get("count") else "-"]
        rows.append(row)
    print_table(rows, headers)
    for key, value in overall.items():
        print(f"{key}: {100 * value:.2f}% of the mixture's examples exceed {limits[key]} tokens")
    return 0
