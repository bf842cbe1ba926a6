"""configs/: every gin file parses; every script's gin stack binds what T5X requires; recipe numbers;
model and task vocabularies agree; named mixtures are registered; a tiny T5X run (if T5X imports)."""

import glob
import importlib.util
import os
import re
import subprocess
import sys

import pytest
from gin import config_parser

from multilingual_t0 import gin_macros, launch
from multilingual_t0.gin_macros import Macro, Reference

REPO = launch.REPO_DIR
GIN_FILES = sorted(glob.glob(os.path.join(REPO, "configs", "**", "*.gin"), recursive=True))

# Macros each T5X file marks %gin.REQUIRED (read from google-research/t5x at cc342d4, 2026-04-21:
# t5x/configs/runs/{finetune,pretrain,eval,infer}.gin and t5x/examples/t5/mt5/base.gin).
# finetune.gin also sets MIXTURE_OR_TASK_MODULE = %gin.REQUIRED, then None ("DEPRECATED").
T5X_REQUIRED = {
    "t5x/configs/runs/finetune.gin": ("MODEL_DIR", "MIXTURE_OR_TASK_NAME", "TASK_FEATURE_LENGTHS",
                                      "TRAIN_STEPS", "INITIAL_CHECKPOINT_PATH"),
    "t5x/configs/runs/pretrain.gin": ("MIXTURE_OR_TASK_NAME", "TASK_FEATURE_LENGTHS", "TRAIN_STEPS", "MODEL_DIR"),
    "t5x/configs/runs/eval.gin": ("MIXTURE_OR_TASK_NAME", "CHECKPOINT_PATH", "EVAL_OUTPUT_DIR"),
    "t5x/configs/runs/infer.gin": ("MIXTURE_OR_TASK_NAME", "TASK_FEATURE_LENGTHS", "CHECKPOINT_PATH",
                                   "INFER_OUTPUT_DIR"),
    "t5x/examples/t5/mt5/base.gin": ("DROPOUT_RATE",),
}
# Defaults of T5X's that our recipes rely on (same source).
T5X_DEFAULTS = {"t5x/configs/runs/finetune.gin": {"DROPOUT_RATE": 0.1, "BATCH_SIZE": 128, "USE_CACHED_TASKS": True}}
# Which T5X run config each of our run configs builds on.
RUN_BASE = {"mt0_finetune": "finetune", "mt0_paper": "finetune", "mt0_xp3": "finetune", "lm_adapt": "finetune",
            "eval_score": "eval", "infer": "infer"}


def _fake_t5x(root):
    """Just enough of T5X's gin tree for include resolution: the REQUIRED macros and the defaults."""
    for rel, names in T5X_REQUIRED.items():
        lines = [f"{n} = %gin.REQUIRED" for n in names]
        lines += [f"{k} = {v!r}" for k, v in T5X_DEFAULTS.get(rel, {}).items()]
        if rel.endswith("base.gin"):
            lines += ["VOCABULARY = @seqio.SentencePieceVocabulary()",
                      "network.T5Config.vocab_size = 250112", "network.T5Config.dropout_rate = %DROPOUT_RATE",
                      "MODEL = @models.EncoderDecoderModel()"]
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
    for size in launch.MODEL_SIZES:
        if size != "base":
            with open(os.path.join(root, "t5x/examples/t5/mt5", f"{size}.gin"), "w") as f:
                f.write("include 't5x/examples/t5/mt5/base.gin'\n")
    return str(root)


@pytest.fixture(scope="module")
def t5x_tree(tmp_path_factory):
    """A real T5X checkout ($T5X_DIR or the importable package's), else a fake one written here."""
    candidates = [os.environ.get("T5X_DIR", "")]
    spec = importlib.util.find_spec("t5x")
    if spec and spec.origin:
        candidates.append(os.path.dirname(os.path.dirname(spec.origin)))
    for root in candidates:
        if root and os.path.isfile(os.path.join(root, "t5x/configs/runs/finetune.gin")):
            return root
    return _fake_t5x(tmp_path_factory.mktemp("fake_t5x"))


def _env(t5x_dir, **extra):
    env = {"MODEL_DIR": "gs://b/mt0", "TFDS_DATA_DIR": "gs://b/tfds", "T5X_DIR": t5x_dir,
           "CHECKPOINT_PATH": "gs://b/mt0/checkpoint_1125000", "EVAL_OUTPUT_DIR": "gs://b/eval",
           "INFER_OUTPUT_DIR": "gs://b/infer", "PYTHON": "python3"}
    env.update(extra)
    return env


# (job, extra settings) for every script and every choice a script offers.
COMBINATIONS = (
    [("train", {}), ("train", {"RUN_GIN": "mt0_paper"}), ("train", {"RUN_GIN": "mt0_xp3"}), ("lm_adapt", {}),
     ("eval", {}), ("infer", {})]
    + [("train", {"MODEL_SIZE": s}) for s in launch.MODEL_SIZES]
    + [(job, {"PARTITIONING": p}) for job in ("train", "eval", "infer")
       for p in ("v3_256", "v4_128", "v4_256")]
    + [("train", {"CACHE_DIR": "gs://b/cache"})]
)


def _stack(t5x_dir, job, extra, overrides=()):
    (argv, _), = launch.commands(job, _env(t5x_dir, **extra), list(overrides))
    files, paths, binds = gin_macros.from_command(argv, [t5x_dir])
    return gin_macros.resolve(files, paths, binds)


@pytest.mark.parametrize("path", GIN_FILES, ids=lambda p: os.path.relpath(p, REPO))
def test_gin_file_parses_with_gins_parser(path):
    with open(path) as f:
        statements = list(config_parser.ConfigParser(f, gin_macros._Delegate()))
    assert statements
    assert statements[0].module == "__gin__.dynamic_registration"  # as T5X's own files


def test_every_config_kind_exists():
    names = {os.path.relpath(p, os.path.join(REPO, "configs")) for p in GIN_FILES}
    expected = ({f"models/mt5_{s}.gin" for s in launch.MODEL_SIZES}
                | {f"runs/{r}.gin" for r in ("mt0_finetune", "mt0_paper", "eval_score", "infer", "lm_adapt")}
                | {f"partitioning/{p}.gin" for p in ("v3_256", "v4_128", "v4_256")})
    assert expected <= names


@pytest.mark.parametrize("job,extra", COMBINATIONS, ids=lambda x: str(x))
def test_script_gin_stack_binds_every_required_macro(t5x_tree, job, extra):
    stack = _stack(t5x_tree, job, extra)
    assert stack.unbound() == []
    run = extra.get("RUN_GIN", launch.JOBS[job].run_gin)
    base = f"t5x/configs/runs/{RUN_BASE[run]}.gin"
    assert any(f.endswith(base) for f in stack.files), stack.files
    for name in T5X_REQUIRED[base] + T5X_REQUIRED["t5x/examples/t5/mt5/base.gin"]:
        assert name in stack.macros and stack.macros[name] != Macro(gin_macros.REQUIRED), name
    assert "multilingual_t0.tasks" in stack.imports  # t5x binaries have no --module_import


def test_unbound_macro_is_reported(t5x_tree):
    """The check itself: a stack without our run gin leaves T5X's musts unbound."""
    model_only = gin_macros.resolve(["configs/models/mt5_xxl.gin"], [REPO, t5x_tree])
    assert "DROPOUT_RATE" in model_only.unbound()
    stack = gin_macros.resolve(["configs/models/mt5_xxl.gin", "t5x/configs/runs/finetune.gin"], [REPO, t5x_tree])
    assert set(T5X_REQUIRED["t5x/configs/runs/finetune.gin"]) <= set(stack.unbound())
    assert "DROPOUT_RATE" not in stack.unbound()


@pytest.mark.parametrize("size", launch.MODEL_SIZES)
def test_model_gin_binds_vocabulary_to_the_package_setting(t5x_tree, size):
    stack = gin_macros.resolve([f"configs/models/mt5_{size}.gin"], [REPO, t5x_tree])
    assert any(f.endswith(f"t5x/examples/t5/mt5/{size}.gin") for f in stack.files)
    assert stack.macros["VOCABULARY"] == Reference("gin_vocab.vocabulary", True)
    assert "multilingual_t0.gin_vocab" in stack.imports
    assert stack.value("network.T5Config", "vocab_size") == 250112


def test_gin_vocabulary_is_the_tasks_vocabulary(registered):
    import gin
    import seqio

    from multilingual_t0 import gin_vocab, vocab

    task = seqio.get_mixture_or_task("super_glue_rte_GPT_3_style")
    with gin.unlock_config():
        gin.parse_config("from __gin__ import dynamic_registration\nfrom multilingual_t0 import gin_vocab\n"
                         "V = @gin_vocab.vocabulary()")
        from_dynamic = gin.query_parameter("V/macro.value").scoped_configurable_fn()
        gin.clear_config()
        gin.parse_config("import multilingual_t0.gin_vocab\nV = @multilingual_t0.vocabulary()")
        from_registered = gin.query_parameter("V/macro.value").scoped_configurable_fn()
        gin.clear_config()
    for v in (from_dynamic, from_registered, gin_vocab.vocabulary()):
        assert v is vocab.get_vocabulary()
        assert v == task.output_features["targets"].vocabulary  # T5X's check: path and settings
    assert from_dynamic.sentencepiece_model_file == os.environ["MT0_VOCAB"]


def test_original_recipe(t5x_tree):
    m = _stack(t5x_tree, "train", {}).macros
    assert m["MIXTURE_OR_TASK_NAME"] == "mt5_d4_gpt_sglue_train"
    assert m["TASK_FEATURE_LENGTHS"] == {"inputs": 256, "targets": 256}
    assert m["TRAIN_STEPS"] == 1_125_000
    assert m["INITIAL_CHECKPOINT_PATH"] == "gs://t5-data/pretrained_models/mt5/xxl/model.ckpt-1000000"
    assert m["USE_CACHED_TASKS"] is False
    assert m["DROPOUT_RATE"] == T5X_DEFAULTS["t5x/configs/runs/finetune.gin"]["DROPOUT_RATE"]
    assert m["MODEL_DIR"] == "gs://b/mt0"


def test_paper_recipe(t5x_tree):
    stack = _stack(t5x_tree, "train", {"RUN_GIN": "mt0_paper"})
    assert stack.macros["BATCH_SIZE"] == 512
    assert stack.macros["TASK_FEATURE_LENGTHS"] == {"inputs": 1024, "targets": 1024}
    assert stack.macros["LOSS_NORMALIZING_FACTOR"] == "AVERAGE_PER_SEQUENCE"
    assert stack.value("utils.DatasetConfig", "pack", "train") is False
    assert stack.value("utils.DatasetConfig", "pack", "train_eval") is False


def test_paper_gin_comments_every_number():
    with open(os.path.join(REPO, "configs/runs/mt0_paper.gin")) as f:
        lines = f.read().splitlines()
    for i, line in enumerate(lines):
        if re.match(r"^[\w/.]+ = ", line):
            j = i - 1
            while re.match(r"^[\w/.]+ = ", lines[j]):  # a group of bindings under one comment
                j -= 1
            assert lines[j].startswith("# xmtf"), f"mt0_paper.gin:{i + 1} has no source comment"


def test_lm_adapt_recipe(t5x_tree):
    m = _stack(t5x_tree, "lm_adapt", {}).macros
    assert (m["TRAIN_STEPS"], m["BATCH_SIZE"], m["DROPOUT_RATE"]) == (1_100_000, 2048, 0.0)
    assert m["MIXTURE_OR_TASK_NAME"] == "mt5_lm_adapt"
    lm_adapt = pytest.importorskip("multilingual_t0.lm_adapt", reason="lm_adapt.py (issue 4) not built yet")
    if not hasattr(lm_adapt, "FEATURE_LENGTHS"):
        pytest.skip("multilingual_t0.lm_adapt has no FEATURE_LENGTHS")
    assert m["TASK_FEATURE_LENGTHS"] == lm_adapt.FEATURE_LENGTHS


def test_eval_and_infer_use_validation(t5x_tree):
    for job in ("eval", "infer"):
        stack = _stack(t5x_tree, job, {})
        assert stack.value("utils.DatasetConfig", "split") == "validation"
        assert stack.macros["DROPOUT_RATE"] == 0.0
    assert _stack(t5x_tree, "eval", {}).macros["MIXTURE_OR_TASK_NAME"].endswith("_score_eval")


# Slice -> (JAX devices, HBM GiB per device).
SLICES = {"v3_256": (256, 16), "v4_128": (64, 32), "v4_256": (128, 32)}
XXL_PARAMS = 13e9


@pytest.mark.parametrize("preset", sorted(SLICES))
def test_partitioning_fits_xxl(preset):
    stack = gin_macros.resolve([f"configs/partitioning/{preset}.gin"], [REPO])
    parts = stack.value("partitioning.PjitPartitioner", "num_partitions")
    devices, hbm = SLICES[preset]
    assert devices % parts == 0 and devices // parts >= 8
    # float32 parameters and gradients of XXL, sharded `parts` ways, under half of HBM.
    assert 2 * XXL_PARAMS * 4 / parts / 2**30 < hbm / 2
    assert parts in (1, 2, 4, 8, 16)  # the counts T5X's default_mesh maps to a TPU submesh


def _named_in_configs_and_scripts():
    names = set()
    for path in GIN_FILES:
        with open(path) as f:
            names |= set(re.findall(r"MIXTURE_OR_TASK_NAME = '([\w.:]+)'", f.read()))
    for path in glob.glob(os.path.join(REPO, "scripts", "*.sh")):
        with open(path) as f:
            names |= set(re.findall(r"\b(mt5_\w+|super_glue_\w+)", f.read()))
    names |= set(launch.DEFAULT_CACHE_TASKS.split(","))
    return sorted(names)


@pytest.mark.parametrize("name", _named_in_configs_and_scripts())
def test_named_tasks_and_mixtures_are_registered(registered, name):
    import seqio

    known = set(seqio.TaskRegistry.names()) | set(seqio.MixtureRegistry.names())
    if name == "mt5_lm_adapt" and name not in known:
        pytest.skip("mt5_lm_adapt is registered by multilingual_t0/lm_adapt.py (issue 4), not yet in tasks.py")
    assert name in known


def test_tiny_t5x_train_then_score(tmp_path, vocab_path):
    """A 2-layer, d_model-32 mT5-shaped model trains 3 steps on a sample task from these configs
    (scripts/first_run.sh), then scripts/eval.sh scores the checkpoint by rank classification."""
    spec = importlib.util.find_spec("t5x")
    if spec is None:
        pytest.skip("T5X is not importable (not on PyPI; clone github.com/google-research/t5x to run this)")
    t5x_dir = os.path.dirname(os.path.dirname(spec.origin))
    tiny = tmp_path / "tiny.gin"
    tiny.write_text("from __gin__ import dynamic_registration\nfrom t5x.examples.t5 import network\n"
                    "network.T5Config:\n  vocab_size = 1024\n  dtype = 'float32'\n  emb_dim = 32\n"
                    "  num_heads = 2\n  num_encoder_layers = 2\n  num_decoder_layers = 2\n  head_dim = 16\n"
                    "  mlp_dim = 64\n")
    env = {**os.environ, "PYTHON": sys.executable, "T5X_DIR": t5x_dir, "MODEL_SIZE": "small",
           "JAX_PLATFORMS": "cpu", "MODEL_DIR": str(tmp_path / "model"), "TFDS_DATA_DIR": str(tmp_path / "tfds"),
           "CHECKPOINT_PATH": str(tmp_path / "model" / "checkpoint_3"), "EVAL_OUTPUT_DIR": str(tmp_path / "eval")}
    common = [f"--gin_file={tiny}", "TASK_FEATURE_LENGTHS={'inputs': 64, 'targets': 16}"]
    train = subprocess.run(
        [os.path.join(REPO, "scripts/first_run.sh"), *common, "TRAIN_STEPS=3", "BATCH_SIZE=4",
         "INITIAL_CHECKPOINT_PATH=None", "MIXTURE_OR_TASK_NAME='super_glue_rte_GPT_3_style'", "EVAL_STEPS=1",
         "EVAL_PERIOD=3", "utils.SaveCheckpointConfig.period=3"],
        env=env, capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    assert (tmp_path / "model" / "checkpoint_3").is_dir()
    score = subprocess.run(
        [os.path.join(REPO, "scripts/eval.sh"), *common,
         "MIXTURE_OR_TASK_NAME='super_glue_rte_GPT_3_style_score_eval'"],
        env=env, capture_output=True, text=True, timeout=600)
    assert score.returncode == 0, score.stderr[-3000:]
    metrics = tmp_path / "eval" / "inference_eval" / "super_glue_rte_GPT_3_style_score_eval-metrics.jsonl"
    assert "accuracy" in metrics.read_text()
