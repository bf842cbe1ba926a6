"""mt0 cache: SeqIO caching of tasks/mixtures (the command scripts/cache_tasks.sh runs).

    mt0 cache NAME... --out DIR [--dry-run] [-- --min_shards=1 --pipeline_options=...]

Everything after `--` goes to seqio's cache_tasks_main unchanged (write flags as `--flag=value`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import List, Sequence, Tuple


def add_parser(sub) -> None:
    p = sub.add_parser("cache", help="cache tasks/mixtures with seqio's cache_tasks_main (Apache Beam)",
                       usage="mt0 cache NAME [NAME ...] --out DIR [--dry-run] [-- CACHE_TASKS_MAIN_FLAGS ...]",
                       epilog="Flags after `--` pass to cache_tasks_main unchanged, e.g. "
                              "`-- --min_shards=1 --pipeline_options=--runner=DataflowRunner,--project=P`.")
    p.add_argument("names", nargs="+", metavar="NAME", help="task or mixture names (mixtures expand)")
    p.add_argument("--out", required=True, metavar="DIR", help="cache directory (CACHE_DIR for runs)")
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    # cli.main hands the arguments after `--` to this command as args.passthrough.
    p.set_defaults(func=run, takes_passthrough=True)


def split_names(names: Sequence[str], passthrough: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(task names, cache_tasks_main flags). argparse files flags given after the names but before
    `--out` among the names; a name never starts with '-', so those are flags too."""
    flags = [n for n in names if n.startswith("-")]
    return [n for n in names if not n.startswith("-")], flags + list(passthrough)


def run(args) -> int:
    import importlib.util

    from multilingual_t0 import settings
    from multilingual_t0.jobs import job_settings
    from multilingual_t0.jobs.launch import JOBS, cache_command, format_command

    names, beam_args = split_names(args.names, getattr(args, "passthrough", []))
    if not names:
        raise ValueError("mt0 cache needs at least one task or mixture name before `--`.")
    env = dict(os.environ, TASKS=",".join(names), CACHE_DIR=args.out)
    argv = cache_command(JOBS["cache"], env, beam_args)
    if args.dry_run:
        print(format_command(argv))
        return 0
    if importlib.util.find_spec("apache_beam") is None:
        raise FileNotFoundError("apache_beam is not installed: pip install -r requirements-cache.txt "
                                "(make install does this)")
    print(format_command(argv), file=sys.stderr)
    job_settings.check_reachable(settings.job_values(env), beam_args)
    with job_settings.for_job(beam_args, env):  # remote Beam workers import the tasks with the launcher's MT0_*
        return subprocess.call(argv)
