"""mt0 list: registered mixtures and tasks, with counts and rates."""

from __future__ import annotations

import re


def add_parser(sub) -> None:
    p = sub.add_parser("list", help="list mixtures (default) or tasks, with counts and rates")
    kind = p.add_mutually_exclusive_group()
    kind.add_argument("--mixtures", action="store_true", help="list mixtures (default)")
    kind.add_argument("--tasks", action="store_true", help="list tasks")
    kind.add_argument("--mixture", metavar="NAME", help="list the tasks of one mixture with rates")
    p.add_argument("--grep", metavar="PATTERN", help="keep names matching this regular expression")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args) -> int:
    import seqio

    import multilingual_t0.tasks  # noqa: F401
    from multilingual_t0.cli.common import print_json, print_table
    from multilingual_t0.registry.lookup import leaf_tasks_with_rates

    try:
        pattern = re.compile(args.grep) if args.grep else None
    except re.error as err:
        raise ValueError(f"--grep {args.grep!r} is not a regular expression: {err}") from err
    keep = (lambda n: bool(pattern.search(n))) if pattern else (lambda n: True)

    if args.mixture:
        rows = [{"task": t.name, "rate": r, "share": s, "splits": list(t.splits)}
                for t, r, s in leaf_tasks_with_rates(args.mixture) if keep(t.name)]
        if args.json:
            print_json({"mixture": args.mixture, "tasks": rows})
        else:
            print_table([(r["task"], r["rate"], f"{100 * r['share']:.3f}%", " ".join(r["splits"]))
                         for r in rows], ["task", "rate", "share", "splits"])
            print(f"{len(rows)} tasks")
        return 0
    if args.tasks:
        rows = []
        for name in sorted(seqio.TaskRegistry.names()):
            if keep(name):
                task = seqio.TaskRegistry.get(name)
                rows.append({"task": name, "splits": list(task.splits),
                             "source": type(task.source).__name__})
        if args.json:
            print_json(rows)
        else:
            print_table([(r["task"], " ".join(r["splits"]), r["source"]) for r in rows],
                        ["task", "splits", "source"])
            print(f"{len(rows)} tasks")
        return 0
    rows = []
    for name in sorted(seqio.MixtureRegistry.names()):
        if keep(name):
            mixture = seqio.MixtureRegistry.get(name)
            rows.append({"mixture": name, "tasks": len(mixture.tasks),
                         "total_rate": sum(float(mixture.get_rate(t)) for t in mixture.tasks)})
    if args.json:
        print_json(rows)
    else:
        print_table([(r["mixture"], r["tasks"], r["total_rate"]) for r in rows], ["mixture", "tasks", "total rate"])
        print(f"{len(rows)} mixtures, {len(seqio.TaskRegistry.names())} tasks registered")
    return 0
