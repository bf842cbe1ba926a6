"""Settings that change the data travel with a job: every Beam/Dataflow worker uses the launcher's.

seqio's Beam caching re-imports `multilingual_t0.tasks` on every worker, and workers do not inherit the
launcher's environment. For a remote runner (Dataflow, ...; local runners' workers inherit the environment)
the launcher (`mt0 cache`, `scripts/cache_tasks.sh`) therefore writes the settings below into the
package it ships (`multilingual_t0/data/job_settings.json`; Dataflow installs the package from
`--setup_file`, which packs everything in `data/`) for the duration of the job:

* a worker without a setting takes the launcher's (before the tasks register: the vocabulary is bound
  then);
* a worker whose own value differs stops with JobSettingsMismatchError, at import and again when a
  dataset is built: it never caches other data than the launcher chose (settings.py reads the file).

    python -m multilingual_t0.jobs.job_settings cache [ARGS...]   # launch.py's job, with the settings baked
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from typing import Iterator, Mapping, Optional, Sequence

from multilingual_t0 import settings
from multilingual_t0.jobs import launch

PACKAGE_DIR = settings.PACKAGE_DIR


# Runners whose workers are processes of this machine started by the job: they inherit its environment,
# so nothing needs baking (and the shared checkout stays untouched while they run).
LOCAL_RUNNERS = ("DirectRunner", "BundleBasedDirectRunner", "SwitchingDirectRunner", "PrismRunner",
                 "InteractiveRunner")


def remote_runner(beam_args: Sequence[str]) -> bool:
    """Whether the flags choose a runner whose workers run elsewhere (Dataflow, Flink, Spark ...)."""
    runners = re.findall(r"--runner=(\w+)", " ".join(beam_args))  # alone or inside --pipeline_options=
    return any(r not in LOCAL_RUNNERS for r in runners)


def for_job(beam_args: Sequence[str], env: Optional[Mapping[str, str]] = None, package_dir: str = PACKAGE_DIR):
    """The settings baked into the package for a job on a remote runner; nothing for a local one."""
    return baked_for_job(env, package_dir) if remote_runner(beam_args) else contextlib.nullcontext()


def check_reachable(values: Mapping[str, Optional[str]], beam_args: Sequence[str]) -> None:
    """A Dataflow job's workers share no disk with the launcher: its vocabulary and mirror must be
    gs:// (or another remote) paths. Raises ValueError naming the setting otherwise."""
    if not any("DataflowRunner" in a for a in beam_args):
        return
    for name in settings.PATH_SETTINGS:
        value = values.get(name)
        if value and "://" not in value:
            raise ValueError(f"{name}={value!r} is a local path, which Dataflow workers cannot read; "
                             f"copy it to a bucket and set {name}=gs://... (e.g. `mt0 download --to gs://...`)")


@contextlib.contextmanager
def baked_for_job(env: Optional[Mapping[str, str]] = None, package_dir: str = PACKAGE_DIR) -> Iterator[str]:
    """Writes the settings of `env` into the package for the duration of a job, then removes them
    (restoring a file that was there before). Yields the file's path."""
    path = settings.job_settings_path(package_dir)
    previous = None
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            previous = f.read()
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"settings": settings.job_values(env), "written_by": "multilingual_t0.jobs.job_settings"}, f,
                  indent=2)
        f.write("\n")
    os.replace(tmp, path)
    try:
        yield path
    finally:
        if previous is None:
            os.remove(path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(previous)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """`python -m multilingual_t0.jobs.job_settings JOB ARGS...`: launch.py's JOB with the settings baked
    (a --dry-run only prints, so it bakes nothing)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if "--dry-run" in args:
        return launch.main(args)
    try:
        check_reachable(settings.job_values(), args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return launch.EXIT_USAGE
    with for_job(args):
        return launch.main(args)


if __name__ == "__main__":
    sys.exit(main())
