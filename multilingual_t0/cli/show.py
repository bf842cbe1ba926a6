"""mt0 show: rendered examples of a task or mixture (inputs, targets, choices; optionally tokens)."""

from __future__ import annotations

import textwrap


def add_parser(sub) -> None:
    p = sub.add_parser("show", help="print rendered examples of a task or mixture")
    p.add_argument("name", help="task or mixture name")
    p.add_argument("-n", type=int, default=5, help="number of examples (default 5)")
    p.add_argument("--split", help="split (default: train, else the task's first split)")
    p.add_argument("--tokens", action="store_true", help="also print token ids and lengths")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def _pick(name: str, n: int):
    """(task, how many) pairs: a task gives n; a mixture spreads n over tasks drawn by rate (seed 0)."""
    import numpy as np

    from multilingual_t0.registry.lookup import leaf_tasks_with_rates

    tasks = leaf_tasks_with_rates(name)
    if len(tasks) == 1:
        return [(tasks[0][0], n)]
    rng = np.random.default_rng(0)
    drawn = rng.choice(len(tasks), size=n, p=[s for _, _, s in tasks])
    counts = {}
    for i in drawn:
        counts[int(i)] = counts.get(int(i), 0) + 1
    return [(tasks[i][0], k) for i, k in sorted(counts.items())]


def run(args) -> int:
    from multilingual_t0.cli.common import print_json
    from multilingual_t0.pipeline.examples import default_split, iter_text, iter_tokenized

    if args.n < 1:
        raise ValueError("-n must be at least 1")
    shown = []
    for task, count in _pick(args.name, args.n):
        split = default_split(task, args.split)
        stream = iter_tokenized(task, split) if args.tokens else iter_text(task, split)
        for i, ex in zip(range(count), stream):
            shown.append({"task": task.name, "split": split, **ex})
    if args.json:
        print_json(shown)
        return 0
    for ex in shown:
        print(f"== {ex['task']} [{ex['split']}]")
        for key, value in ex.items():
            if key in ("task", "split"):
                continue
            if key in ("inputs", "targets") and isinstance(value, list):
                print(f"  {key} ({len(value)} tokens): {value}")
            else:
                print(textwrap.indent(textwrap.fill(f"{key}: {value}", 100, subsequent_indent="    "), "  "))
    if not shown:
        print("(no examples)")
        return 1
    return 0
