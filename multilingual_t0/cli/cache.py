"""mt0 cache: SeqIO caching of tasks/mixtures (the command scripts/cache_tasks.sh runs)."""

from __future__ import annotations

import os
import subprocess
import sys


def add_parser(sub) -> None:
    p = sub.add_parser("cache", help="cache tasks/mixtures with seqio's cache_tasks_main (Apache Beam)")
    p.add_argument("names", nargs="+", metavar="NAME", help="task or mixture names (mixtures expand)")
    p.add_argument("--out", required=True, metavar="DIR", help="cache directory (CACHE_DIR for runs)")
    p.add_argument("--dry-run", action="store_true", help="print the command instead of running it")
    p.add_argument("beam_args", nargs="*", metavar="--pipeline_options=...",
                   help="after `--`: extra flags for cache_tasks_main (e.g. Dataflow pipeline options)")
    p.set_defaults(func=run)


def run(args) -> int:
    import importlib.util

    from multilingual_t0 import job_settings
    from multilingual_t0.launch import JOBS, cache_command, format_command

    env = dict(os.environ, TASKS=",".join(args.names), CACHE_DIR=args.out)
    argv = cache_command(JOBS["cache"], env, args.beam_args)
    if args.dry_run:
        print(format_command(argv))
        return 0
    if importlib.util.find_spec("apache_beam") is None:
        raise FileNotFoundError("apache_beam is not installed: pip install -r requirements-cache.txt "
                                "(make install does this)")
    print(format_command(argv), file=sys.stderr)
    job_settings.check_reachable(job_settings.current(env), args.beam_args)
    with job_settings.baked_for_job(env):  # Beam workers import the tasks with the launcher's MT0_*
        return subprocess.call(argv)
