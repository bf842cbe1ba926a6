"""configs/: every gin file parses; every script's gin stack binds what T5X requires; recipe numbers;
model and task vocabularies agree; named mixtures are registered; a tiny T5X run (if T5X imports)."""

import glob
import importlib
import importlib.util
import os
import re
import subprocess
import sys

import pytest
from gin import config_parser

from multilingual_t0.jobs import gin_macros
from multilingual_t0.jobs import launch
from multilingual_t0.jobs import t5x_pin
from multilingual_t0.jobs.gin_macros import Macro, Reference

REPO = launch.REPO_DIR
GIN_FILES = sorted(glob.glob(os.path.join(REPO, "configs", "**", "*.gin"), recursive=True))
# T5X's configurable names and its gin files' macros at t5x_pin.T5X_COMMIT (scripts/refresh_t5x_names.py).
T5X_NAMES = t5x_pin.load_names()
T5X_MACROS = {}
for _row in T5X_NAMES:
    if _row["kind"] == "macro":
        T5X_MACROS.setdefault(_row["file"], {})[_row["name"]] = _row["value"]
REQUIRED = "%" + gin_macros.REQUIRED
MT5_BASE = "t5x/examples/t5/mt5/base.gin"
# Which T5X run config each of our run configs builds on.
RUN_BASE = {"mt0_finetune": "finetune", "mt0_paper": "finetune", "mt0_xp3": "finetune", "lm_adapt": "finetune",
            "eval_score": "eval", "infer": "infer"}


def t5x_required(rel):
    """Macros a T5X gin file leaves %gin.REQUIRED (from the table)."""
    return sorted(name for name, value in T5X_MACROS[rel].items() if value == REQUIRED)


def _stand_in_t5x(root):
    """T5X's gin files as the table knows them: their includes and macros, nothing else. Our gins must
    bind everything else themselves (e.g. vocab_size), so no value a test checks comes from here."""
    files = {}
    for row in T5X_NAMES:
        if row["kind"] == "include":
            files.setdefault(row["file"], []).insert(0, f"include {row['name']!r}")
        elif row["kind"] == "macro":
            files.setdefault(row["file"], []).append(f"{row['name']} = {row['value']}")
    for rel, lines in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
    return str(root)


@pytest.fixture(scope="module")
def t5x_tree(tmp_path_factory):
    """A real T5X checkout ($T5X_DIR or the importable package's), else the stand-in from the table."""
    candidates = [os.environ.get("T5X_DIR", "")]
    spec = importlib.util.find_spec("t5x")
    if spec and spec.origin:
        candidates.append(os.path.dirname(os.path.dirname(spec.origin)))
    for root in candidates:
        if root and os.path.isfile(os.path.join(root, "t5x/configs/runs/finetune.gin")):
            return root
    return _stand_in_t5x(tmp_path_factory.mktemp("t5x_stand_in"))


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


# What `import __main__` is in each of our run gins: the T5X binary its script runs.
MAIN_MODULE = {"finetune": "t5x/train.py", "eval": "t5x/eval.py", "infer": "t5x/infer.py"}
T5X_CALLABLES = {(r["file"], r["name"]): r["value"].split() for r in T5X_NAMES if r["kind"] in ("class", "function")}


def _module_file(module, main_file):
    if module == "__main__":
        return main_file
    return module.replace(".", "/") + ".py" if module.startswith("t5x") else None


def unknown_selectors(text, main_file="t5x/train.py"):
    """Every `alias.Name.arg` binding and `@alias.Name` reference in a gin text whose name or argument
    T5X (the table) or this package does not have."""
    aliases, problems = {}, []

    def check(scoped, arg=None):
        selector = scoped.split("/")[-1]
        if "." not in selector:
            return  # a macro
        alias, name = selector.split(".", 1)
        if alias not in aliases:
            problems.append(f"{selector}: no import binds {alias!r}")
            return
        module = aliases[alias]
        rel = _module_file(module, main_file)
        if rel is not None:
            params = T5X_CALLABLES.get((rel, name))
            if params is None:
                problems.append(f"{selector}: T5X's {rel} at {t5x_pin.T5X_COMMIT[:7]} has no {name}")
            elif arg and arg not in params:
                problems.append(f"{selector}.{arg}: {name} in {rel} takes no {arg!r}")
        else:  # ours (multilingual_t0.*): import it
            if not hasattr(importlib.import_module(module), name):
                problems.append(f"{selector}: {module} has no {name}")

    for st in config_parser.ConfigParser(text, gin_macros._Delegate()):
        if isinstance(st, config_parser.ImportStatement):
            aliases[st.bound_name()] = st.module
        elif isinstance(st, config_parser.BindingStatement):
            if st.arg_name:
                check(st.selector, st.arg_name)
            for ref in gin_macros._walk(st.value):
                if isinstance(ref, Reference):
                    check(ref.name)
    return problems


@pytest.mark.parametrize("path", GIN_FILES, ids=lambda p: os.path.relpath(p, REPO))
def test_every_selector_our_gins_bind_exists_in_t5x(path):
    stem = os.path.basename(path)[:-4]
    main_file = MAIN_MODULE[RUN_BASE.get(stem, "finetune")]
    with open(path) as f:
        assert unknown_selectors(f.read(), main_file) == []


def test_unknown_selector_is_reported():
    """The check itself, on misspellings of what our gins bind."""
    header = "from __gin__ import dynamic_registration\nfrom t5x import utils\nimport __main__ as train_script\n"
    assert unknown_selectors(header + "utils.DatasetConfig.split = 'validation'\n"
                             "train_script.train.train_eval_dataset_cfg = @train_eval/utils.DatasetConfig()\n") == []
    assert unknown_selectors(header + "utils.DatasetConfig.splitt = 'x'\n") == [
        "utils.DatasetConfig.splitt: DatasetConfig in t5x/utils.py takes no 'splitt'"]
    assert unknown_selectors(header + "train_script.train.infer_eval_dataset_cfg = @utils.DataConfig()\n") == [
        f"utils.DataConfig: T5X's t5x/utils.py at {t5x_pin.T5X_COMMIT[:7]} has no DataConfig"]
    assert unknown_selectors(header + "train_script.trainn.model_dir = 'x'\n", "t5x/eval.py") == [
        f"train_script.trainn: T5X's t5x/eval.py at {t5x_pin.T5X_COMMIT[:7]} has no trainn"]


def test_every_t5x_gin_we_include_is_in_the_table():
    t5x_gins = {r["file"] for r in T5X_NAMES if r["kind"] in ("macro", "include")}
    for path in GIN_FILES:
        with open(path) as f:
            for st in config_parser.ConfigParser(f, gin_macros._Delegate()):
                if isinstance(st, config_parser.IncludeStatement) and st.filename.startswith("t5x/"):
                    assert st.filename in t5x_gins, (path, st.filename)


def test_t5x_names_table_is_current():
    """The table and t5x_pin's facts against a real T5X checkout at the pinned commit ($T5X_DIR)."""
    t5x_dir = os.environ.get("T5X_DIR", "")
    if not os.path.isfile(os.path.join(t5x_dir, "t5x/configs/runs/finetune.gin")):
        pytest.skip("needs a T5X checkout at t5x_pin.T5X_COMMIT in $T5X_DIR")
    result = subprocess.run([sys.executable, os.path.join(REPO, "scripts/refresh_t5x_names.py"), "--t5x-dir",
                             t5x_dir, "--check"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


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
    assert t5x_required(base) and t5x_required(MT5_BASE) == ["DROPOUT_RATE"]
    for name in t5x_required(base) + t5x_required(MT5_BASE):
        assert name in stack.macros and stack.macros[name] != Macro(gin_macros.REQUIRED), name
    assert "multilingual_t0.tasks" in stack.imports  # t5x binaries have no --module_import


def test_unbound_macro_is_reported(t5x_tree):
    """The check itself: a stack without our run gin leaves T5X's musts unbound."""
    model_only = gin_macros.resolve(["configs/models/mt5_xxl.gin"], [REPO, t5x_tree])
    assert "DROPOUT_RATE" in model_only.unbound()
    stack = gin_macros.resolve(["configs/models/mt5_xxl.gin", "t5x/configs/runs/finetune.gin"], [REPO, t5x_tree])
    assert set(t5x_required("t5x/configs/runs/finetune.gin")) <= set(stack.unbound())
    assert "DROPOUT_RATE" not in stack.unbound()


@pytest.mark.parametrize("size", launch.MODEL_SIZES)
def test_model_gin_binds_vocabulary_to_the_package_setting(t5x_tree, size):
    stack = gin_macros.resolve([f"configs/models/mt5_{size}.gin"], [REPO, t5x_tree])
    assert any(f.endswith(f"t5x/examples/t5/mt5/{size}.gin") for f in stack.files)
    assert stack.macros["VOCABULARY"] == Reference("gin_vocab.vocabulary", True)
    assert "multilingual_t0.gin_vocab" in stack.imports
    # Our file itself states the checkpoint's embedding size (T5X's mt5/base.gin, t5x_pin), whatever
    # T5X's include or MT0_VOCAB say: read it without following the include.
    with open(os.path.join(REPO, f"configs/models/mt5_{size}.gin")) as f:
        own = {(st.selector, st.arg_name): st.value for st in config_parser.ConfigParser(f, gin_macros._Delegate())
               if isinstance(st, config_parser.BindingStatement)}
    assert own.get(("network.T5Config", "vocab_size")) == t5x_pin.MT5_VOCAB_SIZE == 250112
    assert stack.value("network.T5Config", "vocab_size") == t5x_pin.MT5_VOCAB_SIZE


def test_gin_vocabulary_is_the_tasks_vocabulary(registered):
    import gin
    import seqio

    from multilingual_t0 import gin_vocab
    from multilingual_t0.pipeline import vocab

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
    assert m["INITIAL_CHECKPOINT_PATH"] == "gs://t5-data/pretrained_models/t5x/mt5_xxl/checkpoint_1000000"
    assert m["USE_CACHED_TASKS"] is False
    assert m["DROPOUT_RATE"] == 0.1 and T5X_MACROS["t5x/configs/runs/finetune.gin"]["DROPOUT_RATE"] == "0.1"
    assert m["MODEL_DIR"] == "gs://b/mt0"
    # The gin alone (without the launcher's START_CHECKPOINT overrides) says the same.
    alone = gin_macros.resolve(["configs/models/mt5_xxl.gin", "configs/runs/mt0_finetune.gin"], [REPO, t5x_tree]).macros
    assert alone["TRAIN_STEPS"] == launch.MT5_STEP + launch.DEFAULT_FINETUNE_STEPS
    assert alone["INITIAL_CHECKPOINT_PATH"] == launch.MT5_CHECKPOINT.format(size="xxl")


@pytest.mark.parametrize("run_gin", ["mt0_finetune", "mt0_paper"])
def test_training_runs_no_evaluation_by_default(t5x_tree, run_gin):
    """T5X's finetune.gin evaluates every task of the mixture at each EVAL_PERIOD; ours turns both off."""
    stack = _stack(t5x_tree, "train", {"RUN_GIN": run_gin})
    assert stack.value("train_script.train", "train_eval_dataset_cfg") == Macro("TRAIN_EVAL_DATASET_CFG")
    assert stack.macros["TRAIN_EVAL_DATASET_CFG"] is None
    assert stack.value("train_script.train", "infer_eval_dataset_cfg") is None
    # The README's way to turn the teacher-forced eval on, for a small mixture (run for real with T5X
    # in test_tiny_t5x_train_then_score):
    on = _stack(t5x_tree, "train", {"RUN_GIN": run_gin}, [
        "TRAIN_EVAL_DATASET_CFG=@train_eval/utils.DatasetConfig()",
        "train_eval/utils.DatasetConfig.mixture_or_task_name='mt5_sglue_train'"])
    assert on.macros["TRAIN_EVAL_DATASET_CFG"] == Reference("train_eval/utils.DatasetConfig", True)
    assert on.value("utils.DatasetConfig", "mixture_or_task_name", "train_eval") == "mt5_sglue_train"


@pytest.mark.parametrize("start,size,path,step", [
    ("mt5", "xxl", "gs://t5-data/pretrained_models/t5x/mt5_xxl/checkpoint_1000000", 1_000_000),
    ("", "small", "gs://t5-data/pretrained_models/t5x/mt5_small/checkpoint_1000000", 1_000_000),
    ("mt5_lm_adapted", "xl", "gs://t5-data/pretrained_models/t5x/mt5_lm_adapted/xl/checkpoint_1100000", 1_100_000),
    ("none", "base", None, 0),
    ("gs://b/lm_adapt/xxl/checkpoint_1100000", "xxl", "gs://b/lm_adapt/xxl/checkpoint_1100000", 1_100_000),
])
def test_start_checkpoint_sets_the_checkpoint_and_counts_train_steps_from_it(t5x_tree, start, size, path, step):
    for finetune_steps, expected in (("", 125_000), ("30_000", 30_000)):
        m = _stack(t5x_tree, "train", {"START_CHECKPOINT": start, "MODEL_SIZE": size,
                                       "FINETUNE_STEPS": finetune_steps}).macros
        assert m["INITIAL_CHECKPOINT_PATH"] == path
        assert m["TRAIN_STEPS"] == step + expected


@pytest.mark.parametrize("settings,message", [
    ({"START_CHECKPOINT": "gs://b/somewhere"}, "START_CHECKPOINT='gs://b/somewhere' is not one of mt5, mt5_lm_adapted"),
    ({"FINETUNE_STEPS": "-3"}, "FINETUNE_STEPS='-3' is not a positive whole number"),
])
def test_bad_start_settings_are_usage_errors(settings, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        launch.commands("train", _env("/opt/t5x", **settings), [])


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
    from multilingual_t0 import lm_adapt

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
    return sorted(names - set(launch.START_CHOICES))  # START_CHECKPOINT=mt5_lm_adapted names a checkpoint


@pytest.mark.parametrize("name", _named_in_configs_and_scripts())
def test_named_tasks_and_mixtures_are_registered(registered, name):
    import seqio

    assert name in set(seqio.TaskRegistry.names()) | set(seqio.MixtureRegistry.names())


def test_tiny_t5x_train_then_score(tmp_path, vocab_path):
    """A 2-layer, d_model-32 mT5-shaped model trains 3 steps on the 464-task T0 mixture (one fed
    pipeline, streamed_mixture) from these configs (scripts/first_run.sh), then scripts/eval.sh scores
    the checkpoint by rank classification."""
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
    env["START_CHECKPOINT"] = "none"
    common = [f"--gin_file={tiny}", "TASK_FEATURE_LENGTHS={'inputs': 64, 'targets': 16}"]
    train = subprocess.run(
        [os.path.join(REPO, "scripts/first_run.sh"), *common, "TRAIN_STEPS=3", "BATCH_SIZE=4",
         "MIXTURE_OR_TASK_NAME='mt5_d4_gpt_sglue_train'", "EVAL_STEPS=1",
         "EVAL_PERIOD=3", "utils.SaveCheckpointConfig.period=3",
         # The README's way to turn evaluation during training back on (mt0_finetune.gin turns it off).
         "TRAIN_EVAL_DATASET_CFG=@train_eval/utils.DatasetConfig()",
         "train_eval/utils.DatasetConfig.mixture_or_task_name='super_glue_rte_GPT_3_style'"],
        env=env, capture_output=True, text=True, timeout=600)
    assert train.returncode == 0, train.stderr[-3000:]
    assert (tmp_path / "model" / "checkpoint_3").is_dir()
    assert (tmp_path / "model" / "training_eval" / "super_glue_rte_GPT_3_style").is_dir()
    # eval_score.gin's own lengths (none: T5X measures the eval set); the training's 64 would cut RTE's inputs,
    # which the score-eval tasks refuse.
    score = subprocess.run(
        [os.path.join(REPO, "scripts/eval.sh"), f"--gin_file={tiny}",
         "MIXTURE_OR_TASK_NAME='super_glue_rte_GPT_3_style_score_eval'"],
        env=env, capture_output=True, text=True, timeout=600)
    assert score.returncode == 0, score.stderr[-3000:]
    metrics = tmp_path / "eval" / "inference_eval" / "super_glue_rte_GPT_3_style_score_eval-metrics.jsonl"
    assert "accuracy" in metrics.read_text()
