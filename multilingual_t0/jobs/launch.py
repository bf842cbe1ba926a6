"""The command lines behind scripts/*.sh: T5X train/eval/infer, SeqIO caching, TPU VM setup.

Each script is a thin `set -euo pipefail` wrapper that calls `python -m multilingual_t0.jobs.launch JOB
[--dry-run] [OVERRIDES...]`. This module reads the job's settings from the environment (printing
them to stderr), checks the required ones (a missing one exits 2 with what it is and an example),
builds the exact command and runs it, or with `--dry-run` prints it to stdout.

Overrides: arguments starting with `--` pass through unchanged (`--gin.BATCH_SIZE=256`,
`--gin_file=...`, `--pipeline_options=...`); a bare `NAME=VALUE` becomes `--gin.NAME=VALUE`.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from multilingual_t0 import settings
from multilingual_t0.jobs import gin_macros, t5x_pin

REPO_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL_SIZES = ("small", "base", "large", "xl", "xxl")
# mT5 at its 1,000,000 pretraining steps, in T5X's format (docs/models.md; t5x_pin states it once).
MT5_CHECKPOINT, MT5_STEP = t5x_pin.MT5_CHECKPOINT, t5x_pin.MT5_STEP
START_CHOICES = ("mt5", "mt5_lm_adapted", "none")
# Fine-tuning steps when FINETUNE_STEPS is unset: each recipe's own (its gin's TRAIN_STEPS - 1,000,000).
# The original run (mt0_finetune.gin) 125,000; the mT0 paper (xmtf) 30,000, checkpoints every 1,000.
DEFAULT_FINETUNE_STEPS = 125_000
RECIPE_FINETUNE_STEPS = {"mt0_paper": 30_000, "mt0_xp3": 30_000}
EXIT_USAGE = 2

# What each setting is, for the messages a missing one produces. Order = order printed.
SETTINGS: Dict[str, Tuple[str, str]] = {
    "MODEL_DIR": ("where T5X writes checkpoints, summaries and config.gin", "gs://my-bucket/mt0/xxl"),
    "TFDS_DATA_DIR": ("TensorFlow Datasets data directory, passed to T5X as --tfds_data_dir",
                      "gs://my-bucket/tensorflow_datasets"),
    "T5X_DIR": ("a clone of https://github.com/google-research/t5x (setup_tpu_vm.sh makes ~/t5x)",
                "$HOME/t5x"),
    "CHECKPOINT_PATH": ("the T5X checkpoint directory to load", "gs://my-bucket/mt0/xxl/checkpoint_1125000"),
    "EVAL_OUTPUT_DIR": ("where t5x/eval.py writes metrics", "gs://my-bucket/mt0/xxl/eval"),
    "INFER_OUTPUT_DIR": ("where t5x/infer.py writes predictions", "gs://my-bucket/mt0/xxl/infer"),
    "CACHE_DIR": ("SeqIO cache directory: cache_tasks.sh writes it; set it for a run to read the cache "
                  "(USE_CACHED_TASKS=True)", "gs://my-bucket/mt0/seqio_cache"),
    "TASKS": ("comma-separated task or mixture names to cache (mixtures expand to their tasks)",
              "mt5_d4_gpt_sglue_train"),
    "TPU_NAME": ("the TPU VM (slice) name, as in `gcloud compute tpus tpu-vm list`", "mt0-v4-256"),
    "ZONE": ("the TPU VM's zone", "us-central2-b"),
    "PROJECT": ("the Google Cloud project (gcloud's default if unset)", "my-project"),
    "T5X_COMMIT": ("the T5X commit (or tag/branch) setup_tpu_vm.sh checks out; default the one the package is "
                   "checked against (multilingual_t0/jobs/t5x_pin.py)", "cc342d419ec3e3e9c4bf1df33c82330cafdc1e16"),
    "START_CHECKPOINT": ("where fine-tuning starts: mt5 (mT5 at 1,000,000 steps, as mT0; default), mt5_lm_adapted "
                         "(T5X's released LM-adapted mT5 at 1,100,000), none (from scratch), or a checkpoint path "
                         "ending in checkpoint_<step> (e.g. lm_adapt.sh's output)", "mt5_lm_adapted"),
    "FINETUNE_STEPS": ("fine-tuning steps after the starting checkpoint's own (default: the recipe's, 125,000 "
                       "for mt0_finetune, 30,000 for mt0_paper/mt0_xp3): TRAIN_STEPS = start step + "
                       "FINETUNE_STEPS", "30000"),
    "MODEL_SIZE": ("mT5 size: one of " + ", ".join(MODEL_SIZES) + " (default xxl)", "xl"),
    "RUN_GIN": ("run config in configs/runs/ (first_run.sh: mt0_finetune, mt0_paper or mt0_xp3)", "mt0_xp3"),
    "PARTITIONING": ("TPU preset in configs/partitioning/ (v3_256, v4_128, v4_256)", "v4_256"),
    **{name: (settings.describe(name), "") for name in settings.JOB_SETTINGS},
}


@dataclasses.dataclass(frozen=True)
class Job:
    script: str
    required: Tuple[str, ...]
    optional: Tuple[str, ...]
    binary: str = ""  # t5x/<binary>.py
    run_gin: str = ""  # default configs/runs/<run_gin>.gin
    env_macros: Tuple[str, ...] = ()  # settings passed as --gin.NAME='value'


_START = ("START_CHECKPOINT", "FINETUNE_STEPS")
_TRAIN_OPTIONAL = ("MODEL_SIZE", "PARTITIONING", "CACHE_DIR") + settings.JOB_SETTINGS
_RUN_OPTIONAL = ("MODEL_SIZE", "PARTITIONING", "TFDS_DATA_DIR") + settings.JOB_SETTINGS
JOBS: Dict[str, Job] = {
    "train": Job("first_run.sh", ("MODEL_DIR", "TFDS_DATA_DIR", "T5X_DIR"), ("RUN_GIN",) + _START + _TRAIN_OPTIONAL,
                 "train", "mt0_finetune", ("MODEL_DIR",)),
    "lm_adapt": Job("lm_adapt.sh", ("MODEL_DIR", "TFDS_DATA_DIR", "T5X_DIR"), _TRAIN_OPTIONAL,
                    "train", "lm_adapt", ("MODEL_DIR",)),
    "eval": Job("eval.sh", ("CHECKPOINT_PATH", "EVAL_OUTPUT_DIR", "T5X_DIR"), _RUN_OPTIONAL,
                "eval", "eval_score", ("CHECKPOINT_PATH", "EVAL_OUTPUT_DIR")),
    "infer": Job("infer.sh", ("CHECKPOINT_PATH", "INFER_OUTPUT_DIR", "T5X_DIR"), _RUN_OPTIONAL,
                 "infer", "infer", ("CHECKPOINT_PATH", "INFER_OUTPUT_DIR")),
    "cache": Job("cache_tasks.sh", ("CACHE_DIR",), ("TASKS", "TFDS_DATA_DIR") + settings.JOB_SETTINGS),
    "setup_tpu_vm": Job("setup_tpu_vm.sh", ("TPU_NAME", "ZONE"), ("PROJECT", "T5X_COMMIT")),
}
DEFAULT_CACHE_TASKS = "mt5_d4_gpt_sglue_train"
# T5X's dataset checkpoints are set by the run gins' DATASET_CHECKPOINTS macro, which also tells the input
# (resumable.get_dataset) whether it must be resumable; binding T5X's setting alone would split the two.
DATASET_CHECKPOINTS = re.compile(r"^\s*(\w+/)?utils\.SaveCheckpointConfig\.save_dataset\s*=\s*(\w+)\s*$")
# Beam's in-process DirectRunner. Plain "DirectRunner" first tries the Prism runner, which recent Beam
# downloads from GitHub at run time; this name skips that, so local caching stays offline.
LOCAL_BEAM_RUNNER = "BundleBasedDirectRunner"
LIBTPU_RELEASES = "https://storage.googleapis.com/jax-releases/libtpu_releases.html"
REMOTE_REPO = "multilingual_t0"  # under the worker's home directory


class MissingSettingError(KeyError):
    """A required environment variable is unset; the message says what it is and gives an example."""

    def __init__(self, script: str, name: str):
        what, example = SETTINGS[name]
        self.name = name
        super().__init__(f"{script}: {name} is not set: {what}.\n  Set it, e.g.: export {name}={example}")

    def __str__(self) -> str:
        return self.args[0]


def shell_quote(arg: str) -> str:
    """Quote for a POSIX shell, preferring T5X's README style `--gin.X="'value'"`."""
    if re.fullmatch(r"[\w@%+=:,./-]+", arg):
        return arg
    if not re.search(r'["$`\\!]', arg):
        return f'"{arg}"'
    return shlex.quote(arg)


def format_command(argv: Sequence[str], env: Optional[Mapping[str, str]] = None) -> str:
    prefix = [f"{k}={shell_quote(v)}" for k, v in (env or {}).items()]
    return " ".join(prefix + [shell_quote(a) for a in argv])


def gin_string(value: str) -> str:
    """A gin string literal (gin values are Python literals)."""
    return repr(value)


def overrides(extra: Sequence[str]) -> List[str]:
    """`--flag...` unchanged; `NAME=VALUE` -> `--gin.NAME=VALUE`; anything else is a usage error."""
    out = []
    for arg in extra:
        if arg.startswith("--"):
            out.append(arg)
        elif re.fullmatch(r"[A-Za-z_][\w./]*=.*", arg):
            out.append("--gin." + arg)
        else:
            raise ValueError(f"Unexpected argument {arg!r}: pass gin overrides as --gin.NAME=VALUE or NAME=VALUE, "
                             "other flags as --flag=value.")
    return out


def _required(job: Job, env: Mapping[str, str]) -> Dict[str, str]:
    for name in job.required:
        if not env.get(name):
            raise MissingSettingError(job.script, name)
    return {name: env[name] for name in job.required}


def _choice(env: Mapping[str, str], name: str, allowed: Sequence[str], default: str) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise ValueError(f"{name}={value!r} is not one of: {', '.join(allowed)}.")
    return value


def _configs(kind: str) -> List[str]:
    folder = os.path.join(REPO_DIR, "configs", kind)
    return sorted(f[:-4] for f in os.listdir(folder) if f.endswith(".gin"))


def t5x_command(job: Job, env: Mapping[str, str], extra: Sequence[str]) -> List[str]:
    """`python $T5X_DIR/t5x/<binary>.py` with our model, run (and partitioning) gins and settings."""
    settings = _required(job, env)
    size = _choice(env, "MODEL_SIZE", MODEL_SIZES, "xxl")
    run = _choice(env, "RUN_GIN", _configs("runs"), job.run_gin) if "RUN_GIN" in job.optional else job.run_gin
    argv = [env.get("PYTHON") or sys.executable, os.path.join(settings["T5X_DIR"], "t5x", f"{job.binary}.py"),
            f"--gin_search_paths={REPO_DIR}",
            f"--gin_file=configs/models/mt5_{size}.gin", f"--gin_file=configs/runs/{run}.gin"]
    if env.get("PARTITIONING"):
        preset = _choice(env, "PARTITIONING", _configs("partitioning"), "")
        argv.append(f"--gin_file=configs/partitioning/{preset}.gin")
    argv += [f"--gin.{name}={gin_string(settings[name])}" for name in job.env_macros]
    if "START_CHECKPOINT" in job.optional:
        path, step = start_checkpoint(env, size)
        finetune_steps = _positive_int(env, "FINETUNE_STEPS", RECIPE_FINETUNE_STEPS.get(run, DEFAULT_FINETUNE_STEPS))
        argv += [f"--gin.INITIAL_CHECKPOINT_PATH={gin_string(path) if path else None}",
                 f"--gin.TRAIN_STEPS={step + finetune_steps}"]
    elif job.binary == "train" and size != "xxl":
        argv.append(f"--gin.INITIAL_CHECKPOINT_PATH={gin_string(MT5_CHECKPOINT.format(size=size))}")
    if env.get("TFDS_DATA_DIR"):
        argv.append(f"--tfds_data_dir={env['TFDS_DATA_DIR']}")
    if job.binary == "train" and env.get("CACHE_DIR"):
        argv += [f"--seqio_additional_cache_dirs={env['CACHE_DIR']}", "--gin.USE_CACHED_TASKS=True"]
    argv += overrides(extra)
    if job.binary == "train":
        refuse_split_dataset_checkpoints(argv)
    return argv


def refuse_split_dataset_checkpoints(argv: Sequence[str]) -> None:
    """A clear error now when T5X's save_dataset is bound alone: DATASET_CHECKPOINTS sets it with the input."""
    _, _, bindings = gin_macros.from_command(argv)
    for line in (line for binding in bindings for line in binding.splitlines()):
        match = DATASET_CHECKPOINTS.match(line)
        if match:
            raise ValueError(
                f"{line.strip()}: set DATASET_CHECKPOINTS={match.group(2)} instead. The run gins bind T5X's "
                "save_dataset and the input function (resumable.get_dataset.checkpointed) to that one macro, so "
                "the input is resumable exactly when T5X saves it (docs/tpu_training.md, 'Restarts').")


def start_checkpoint(env: Mapping[str, str], size: str) -> Tuple[Optional[str], int]:
    """(INITIAL_CHECKPOINT_PATH or None, the step it holds) for START_CHECKPOINT; TRAIN_STEPS counts from it."""
    choice = env.get("START_CHECKPOINT") or "mt5"
    if choice == "mt5":
        return MT5_CHECKPOINT.format(size=size), MT5_STEP
    if choice == "mt5_lm_adapted":
        return t5x_pin.MT5_LM_ADAPTED_CHECKPOINT.format(size=size), t5x_pin.MT5_LM_ADAPTED_STEP
    if choice == "none":
        return None, 0
    match = re.search(r"(?:checkpoint_|model\.ckpt-)(\d+)/*$", choice)
    if not match:
        raise ValueError(f"START_CHECKPOINT={choice!r} is not one of {', '.join(START_CHOICES)} nor a checkpoint "
                         "path ending in checkpoint_<step> (T5X) or model.ckpt-<step> (Mesh TF): its step is "
                         "needed to count TRAIN_STEPS. E.g. START_CHECKPOINT=gs://my-bucket/mt5_lm_adapt/xxl/"
                         "checkpoint_1100000")
    return choice.rstrip("/"), int(match.group(1))


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = (env.get(name) or str(default)).replace("_", "")
    if not value.isdigit() or int(value) <= 0:
        raise ValueError(f"{name}={env.get(name)!r} is not a positive whole number of steps, e.g. {name}=30000.")
    return int(value)


def expand_tasks(names: Sequence[str]) -> List[str]:
    """Task names for seqio's cache_tasks_main (a regex list): mixtures expand, unknown names raise."""
    # Imported here: registering the tasks loads TensorFlow, which the scripts' other jobs never need.
    from multilingual_t0.registry.lookup import leaf_tasks

    out: List[str] = []
    for name in names:
        for task in leaf_tasks(name):
            if task.name not in out:
                out.append(task.name)
    return out


def cache_command(job: Job, env: Mapping[str, str], extra: Sequence[str]) -> List[str]:
    settings = _required(job, env)
    names = [n.strip() for n in (env.get("TASKS") or DEFAULT_CACHE_TASKS).split(",") if n.strip()]
    tasks = [re.escape(t) for t in expand_tasks(names)]
    argv = [env.get("PYTHON") or sys.executable, "-m", "seqio.scripts.cache_tasks_main",
            "--module_import=multilingual_t0.tasks", "--tasks=" + ",".join(tasks),
            f"--output_cache_dir={settings['CACHE_DIR']}"]
    if env.get("TFDS_DATA_DIR"):
        argv.append(f"--tfds_data_dir={env['TFDS_DATA_DIR']}")
    passed = list(extra)
    if not any(a.startswith("--pipeline_options") for a in passed):
        argv.append(f"--pipeline_options=--runner={LOCAL_BEAM_RUNNER}")
    return argv + passed


def remote_setup_script(jax_version: str, t5x_commit: str) -> str:
    """What every TPU VM worker runs: Python 3.11, this package's pinned venv, T5X at `t5x_commit`
    and the packages it needs (repository ones --no-deps at pinned commits), jax[tpu]."""
    return " && ".join([
        "set -eu",
        "sudo apt-get update -qq",
        "sudo apt-get install -y -qq python3.11 python3.11-venv git make",
        f"mkdir -p ~/{REMOTE_REPO}",
        f"tar -xzf ~/{REMOTE_REPO}.tgz -C ~/{REMOTE_REPO}",
        f"(test -d ~/t5x || git clone --quiet {t5x_pin.T5X_GIT} ~/t5x)",
        f"git -C ~/t5x fetch --quiet origin {t5x_commit}",  # a commit, tag or branch; works on shallow clones
        "git -C ~/t5x checkout --quiet FETCH_HEAD",
        f"cd ~/{REMOTE_REPO}",
        "make install PYTHON=python3.11",
        ".venv/bin/pip install --quiet -r requirements-t5x.txt",
        ".venv/bin/pip install --quiet --no-deps -r requirements-t5x-nodeps.txt",
        ".venv/bin/pip install --quiet --no-deps -e ~/t5x",
        f".venv/bin/pip install --quiet 'jax[tpu]=={jax_version}' -f {LIBTPU_RELEASES}",
    ])


def setup_tpu_vm_commands(job: Job, env: Mapping[str, str], extra: Sequence[str]) -> List[List[str]]:
    """Pack this checkout, copy it to every worker, and run `remote_setup_script` on every worker."""
    settings = _required(job, env)
    where = ["--zone", settings["ZONE"], "--worker=all"] + (["--project", env["PROJECT"]] if env.get("PROJECT") else [])
    archive = os.path.join("/tmp", f"{REMOTE_REPO}.tgz")
    jax_version = _pinned("jax")
    t5x_commit = env.get("T5X_COMMIT") or t5x_pin.T5X_COMMIT
    if not re.fullmatch(r"[\w][\w./-]*", t5x_commit):  # it goes into a remote shell command
        raise ValueError(f"T5X_COMMIT={t5x_commit!r} is not a git commit, tag or branch name.")
    return [
        ["tar", "-czf", archive, "--exclude=.venv", "--exclude=.cache", "--exclude=.git", "-C", REPO_DIR, "."],
        ["gcloud", "compute", "tpus", "tpu-vm", "scp", archive, f"{settings['TPU_NAME']}:~/"] + where + list(extra),
        ["gcloud", "compute", "tpus", "tpu-vm", "ssh", settings["TPU_NAME"]] + where + list(extra)
        + [f"--command={remote_setup_script(jax_version, t5x_commit)}"],
    ]


def _pinned(package: str) -> str:
    with open(os.path.join(REPO_DIR, "requirements.txt"), encoding="utf-8") as f:
        for line in f:
            match = re.match(rf"{re.escape(package)}(\[[\w,]+\])?==([\w.*]+)", line.strip())
            if match:
                return match.group(2)
    raise LookupError(f"{package} is not pinned with == in requirements.txt")


def commands(job_name: str, env: Mapping[str, str], extra: Sequence[str]) -> List[Tuple[List[str], Dict[str, str]]]:
    """[(argv, extra environment)] for a job; raises MissingSettingError / ValueError on bad settings."""
    settings.DataSettings.from_env(env)  # a bad MT0_* value stops here, not in the job on every host
    job = JOBS[job_name]
    if job_name == "setup_tpu_vm":
        return [(argv, {}) for argv in setup_tpu_vm_commands(job, env, extra)]
    if job_name == "cache":
        return [(cache_command(job, env, extra), {})]
    argv = t5x_command(job, env, extra)
    child_env = {}
    if importlib.util.find_spec("t5x") is None:  # T5X cloned but not pip-installed
        child_env["PYTHONPATH"] = os.pathsep.join(p for p in (env["T5X_DIR"], env.get("PYTHONPATH")) if p)
    return [(argv, child_env)]


def print_settings(job: Job, env: Mapping[str, str]) -> None:
    print(f"{job.script} settings:", file=sys.stderr)
    for name in job.required + job.optional:
        print(f"  {name}={env.get(name) or '(unset)'}", file=sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in JOBS:
        print(f"usage: python -m multilingual_t0.jobs.launch {{{','.join(JOBS)}}} [--dry-run] [OVERRIDES...]",
              file=sys.stderr)
        return EXIT_USAGE
    job_name, rest = args[0], args[1:]
    dry_run = "--dry-run" in rest
    extra = [a for a in rest if a != "--dry-run"]
    env = dict(os.environ)
    print_settings(JOBS[job_name], env)
    try:
        todo = commands(job_name, env, extra)
    except (MissingSettingError, ValueError, KeyError) as err:
        print(f"error: {err.args[0] if err.args else err}", file=sys.stderr)
        return EXIT_USAGE
    for cmd, child_env in todo:
        if dry_run:
            print(format_command(cmd, child_env))
            continue
        print("+ " + format_command(cmd, child_env), file=sys.stderr)
        code = subprocess.call(cmd, env={**env, **child_env})
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
