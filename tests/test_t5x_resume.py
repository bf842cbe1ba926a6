"""Preemption with real T5X (skipped where T5X is not importable): with the run gin's dataset checkpoints, a
job stopped and restarted ends with the parameters of the uninterrupted job, on one host and on two.

On CPU, T5X's dropout keys depend only on the step (RANDOM_SEED fixed), so equal data gives equal
parameters. The restarted part leaves the dataset seed unset, as T5X's finetune.gin does (a new seed each
start): the input continues with the seed saved in the checkpoint."""

import importlib.util
import os
import socket
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T5X = importlib.util.find_spec("t5x")
pytestmark = pytest.mark.skipif(T5X is None, reason="T5X is not importable (not on PyPI; clone "
                                                    "github.com/google-research/t5x to run this)")
TINY = ("from __gin__ import dynamic_registration\nfrom t5x.examples.t5 import network\n"
        "network.T5Config:\n  vocab_size = 1024\n  dtype = 'float32'\n  emb_dim = 32\n  num_heads = 2\n"
        "  num_encoder_layers = 2\n  num_decoder_layers = 2\n  head_dim = 16\n  mlp_dim = 64\n")
MIXTURE = "mt5_d4_gpt_sglue_train"


def _train(tmp_path, model_dir, steps, period, seed=None, hosts=1, extra=(), script="first_run.sh",
           mixture=f"'{MIXTURE}'", env_extra=None):
    """scripts/first_run.sh (or `script`) with its run gin's defaults (dataset checkpoints on), a tiny model;
    on `hosts` processes joined by jax.distributed over 127.0.0.1. Returns each process's stderr."""
    (tmp_path / "tiny.gin").write_text(TINY)
    env = {**os.environ, "PYTHON": sys.executable, "T5X_DIR": os.path.dirname(os.path.dirname(T5X.origin)),
           "MODEL_SIZE": "small", "JAX_PLATFORMS": "cpu", "MODEL_DIR": str(model_dir),
           "TFDS_DATA_DIR": str(tmp_path / "tfds"), "START_CHECKPOINT": "none", "MT0_DATA_SOURCE": "samples",
           **(env_extra or {})}
    argv = [os.path.join(REPO, "scripts", script), f"--gin_file={tmp_path / 'tiny.gin'}",
            "TASK_FEATURE_LENGTHS={'inputs': 64, 'targets': 16}", f"TRAIN_STEPS={steps}", "BATCH_SIZE=4",
            "RANDOM_SEED=0", f"utils.SaveCheckpointConfig.period={period}", *extra]
    if mixture:  # else a gin file in `extra` names it
        argv.append(f"MIXTURE_OR_TASK_NAME={mixture}")
    if seed is not None:
        argv.append(f"train/utils.DatasetConfig.seed={seed}")
    port = _free_port()
    flags = [[]] if hosts == 1 else [["--multiprocess_gpu", f"--coordinator_address=127.0.0.1:{port}",
                                      f"--process_count={hosts}", f"--process_index={i}"] for i in range(hosts)]
    # Each process logs to a file: a pipe read after another process's would fill up and stall that process,
    # and with it the other hosts at their next collective.
    logs = [model_dir.parent / f"{model_dir.name}-{steps}-process{i}.log" for i in range(hosts)]
    runs = []
    for extra_flags, log in zip(flags, logs):
        with open(log, "w") as out:
            runs.append(subprocess.Popen(argv + extra_flags, env=env, stdout=out, stderr=subprocess.STDOUT))
    timed_out = False
    for run in runs:
        try:
            run.wait(timeout=900)
        except subprocess.TimeoutExpired:
            timed_out = True
            for other in runs:
                other.kill()
            run.wait()
    errs = [log.read_text() for log in logs]
    for i, (run, err) in enumerate(zip(runs, errs)):
        assert run.returncode == 0 and not timed_out, f"process {i} of {hosts}:\n{err[-4000:]}"
    return errs


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _state(checkpoint):
    """Every array of a T5X (Orbax) checkpoint's train state: parameters and optimizer state."""
    import jax
    import orbax.checkpoint as ocp

    checkpointer = ocp.PyTreeCheckpointer()
    meta = checkpointer.metadata(str(checkpoint / "state"))
    meta = getattr(meta, "item_metadata", meta) or meta
    # As numpy arrays: a multi-process checkpoint's sharding cannot be rebuilt in this one process.
    restore_args = jax.tree.map(lambda _: ocp.RestoreArgs(restore_type=np.ndarray), getattr(meta, "tree", meta))
    tree = checkpointer.restore(str(checkpoint / "state"), restore_args=restore_args)
    return {jax.tree_util.keystr(path): np.asarray(leaf)
            for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]}


def _assert_same_state(a, b):
    assert a.keys() == b.keys() and len(a) > 10
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_three_plus_three_resumed_steps_equal_six(tmp_path):
    _train(tmp_path, tmp_path / "whole", 6, 3, seed=7)
    _train(tmp_path, tmp_path / "resumed", 3, 3, seed=7)
    err = _train(tmp_path, tmp_path / "resumed", 6, 3)[0]  # restarted: T5X restores checkpoint_3
    assert f"input '{MIXTURE}': restored at batch 3 from" in err
    assert (tmp_path / "resumed" / "checkpoint_3" / "dataset" / "train_ds-000-of-001").is_file()
    whole, resumed = _state(tmp_path / "whole" / "checkpoint_6"), _state(tmp_path / "resumed" / "checkpoint_6")
    _assert_same_state(whole, resumed)
    # Not trivially equal: the data moved the parameters.
    first = _state(tmp_path / "resumed" / "checkpoint_3")
    assert any(not np.array_equal(first[k], whole[k]) for k in whole)


def test_two_hosts_train_forty_steps_and_resume(tmp_path):
    """Two T5X processes (jax.distributed on 127.0.0.1) train the 464-task mixture for 40 steps, each
    host feeding its shard; stopped at 20 and restarted, they end with the uninterrupted run's state."""
    _train(tmp_path, tmp_path / "whole", 40, 20, seed=3, hosts=2)
    _train(tmp_path, tmp_path / "resumed", 20, 20, seed=3, hosts=2)
    errs = _train(tmp_path, tmp_path / "resumed", 40, 20, hosts=2)
    assert all(f"input '{MIXTURE}': restored at batch 20 from" in err for err in errs)
    for host in range(2):
        saved = tmp_path / "resumed" / "checkpoint_20" / "dataset" / "process_{}-of-2".format(host)
        assert list(saved.glob("train_ds-*")), saved
    _assert_same_state(_state(tmp_path / "whole" / "checkpoint_40"), _state(tmp_path / "resumed" / "checkpoint_40"))


# LM adaptation (scripts/lm_adapt.sh, configs/runs/lm_adapt.gin): the six sample languages at p(L) ∝ pages^0.3,
# named in a gin file of the user's as docs/lm_adaptation.md shows; from scratch (no mT5 checkpoint here).
LM_LANGUAGES = ["en", "ru", "zh", "ar", "hi", "sw"]
LM_MIXTURE = "mt5_lm_adapt_samples"


def _lm_args(tmp_path, name=LM_MIXTURE, languages=LM_LANGUAGES, source="samples"):
    gin_file = tmp_path / f"{name}.gin"
    gin_file.write_text("from __gin__ import dynamic_registration\nfrom multilingual_t0 import lm_adapt\n"
                        f"lm_adapt.add_mixture.name = '{name}'\n"
                        f"lm_adapt.add_mixture.languages = {languages}\n"
                        "MIXTURE_OR_TASK_NAME = @lm_adapt.add_mixture()\n")
    return dict(script="lm_adapt.sh", mixture=None,
                # lm_adapt.gin keeps finetune.gin's teacher-forced eval of the validation split (its period must
                # divide the checkpoints')
                extra=(f"--gin_file={gin_file}", "INITIAL_CHECKPOINT_PATH=None", "EVAL_PERIOD=3"),
                env_extra={"MT0_DATA_SOURCE": source})


@pytest.mark.parametrize("hosts, steps", [(1, 3), (2, 3)])
def test_lm_adaptation_resumed_equals_uninterrupted(tmp_path, hosts, steps):
    """lm_adapt.sh with the run gin's defaults (dataset checkpoints on) on the sample languages: stopped after
    `steps` and restarted, every array of the train state ends equal to the uninterrupted run's."""
    total = 2 * steps
    args = _lm_args(tmp_path)
    _train(tmp_path, tmp_path / "whole", total, steps, seed=5, hosts=hosts, **args)
    _train(tmp_path, tmp_path / "resumed", steps, steps, seed=5, hosts=hosts, **args)
    errs = _train(tmp_path, tmp_path / "resumed", total, steps, hosts=hosts, **args)
    assert all(f"input '{LM_MIXTURE}': restored at batch {steps} from" in err for err in errs)
    whole = _state(tmp_path / "whole" / f"checkpoint_{total}")
    _assert_same_state(whole, _state(tmp_path / "resumed" / f"checkpoint_{total}"))
    first = _state(tmp_path / "resumed" / f"checkpoint_{steps}")
    assert any(not np.array_equal(first[k], whole[k]) for k in whole)


def test_lm_adaptation_from_tfds_resumed_equals_uninterrupted(tmp_path):
    """The same through the TFDS source (the pod default): a c4/multilingual built offline by TFDS in
    TFDS_DATA_DIR (lm_adapt.sh passes it as --tfds_data_dir), MT0_DATA_SOURCE=tfds."""
    sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
    import tfds_c4

    tfds_c4.build(str(tmp_path / "tfds"), tfds_c4.sample_documents(["sw", "en"], copies=4), num_shards=2)
    args = _lm_args(tmp_path, "mt5_lm_adapt_tfds_sw_en", ["sw", "en"], source="tfds")
    _train(tmp_path, tmp_path / "whole", 6, 3, seed=2, **args)
    _train(tmp_path, tmp_path / "resumed", 3, 3, seed=2, **args)
    err = _train(tmp_path, tmp_path / "resumed", 6, 3, **args)[0]
    assert "input 'mt5_lm_adapt_tfds_sw_en': restored at batch 3 from" in err
    _assert_same_state(_state(tmp_path / "whole" / "checkpoint_6"), _state(tmp_path / "resumed" / "checkpoint_6"))
