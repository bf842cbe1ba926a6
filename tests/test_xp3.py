"""xP3 / xP3mt: the size tables, every language through seqio on the samples, mixture rates, the mirror
layouts (merged and per-prompt files, .gz, parquet), bad records, the Hub call, and the mt0_xp3 recipe."""

import gzip
import json
import math
import os
import unicodedata

import pytest
import seqio

from conftest import TEST_LENGTHS
from multilingual_t0 import xp3
from multilingual_t0.catalog import xp3 as xp3_table
from multilingual_t0.catalog.tables import SAMPLES_DIR
from multilingual_t0.sources import files, layouts, located
from multilingual_t0.errors import BadRecordError, CatalogError, DataNotFoundError, UnknownNameError
from multilingual_t0.prompting.renderer import RENDER_STATS
from test_configs import _stack, t5x_tree  # noqa: F401  (t5x_tree is a fixture)

XP3 = xp3.load_languages("xp3")
XP3MT = xp3.load_languages("xp3mt")
ALL_TASKS = [("xp3", lang.code) for lang in XP3] + [("xp3mt", lang.code) for lang in XP3MT]
# Languages whose samples must be in their own script (unicodedata name prefix of their letters).
SCRIPTS = {"ar": "ARABIC", "ur": "ARABIC", "as": "BENGALI", "bn": "BENGALI", "gu": "GUJARATI",
           "hi": "DEVANAGARI", "mr": "DEVANAGARI", "ne": "DEVANAGARI", "kn": "KANNADA", "ml": "MALAYALAM",
           "or": "ORIYA", "pa": "GURMUKHI", "ta": "TAMIL", "te": "TELUGU", "zh": "CJK"}


def test_xp3_table_is_the_cards():
    assert len(XP3) == 46 and "code" in {lang.code for lang in XP3}
    assert sum(lang.kilobytes for lang in XP3) == 94_941_936
    assert sum(lang.samples for lang in XP3) == 78_883_588
    assert xp3.get_language("xp3", "en").samples == 31_495_184


def test_xp3mt_table_has_the_same_languages_and_says_where_each_number_comes_from():
    assert [lang.code for lang in XP3MT] == [lang.code for lang in XP3]
    assert all(lang.notes for lang in XP3MT)
    assert xp3.get_language("xp3mt", "yo").samples == 913_021  # xP3mt's own figure (xP3: 918,416)
    assert xp3.get_language("xp3", "yo").samples == 918_416
    assert {lang.code for lang in XP3MT if lang.kilobytes is None} >= {"fr", "pt", "sw", "en"}


def test_bad_table_row_names_file_and_line(tmp_path, monkeypatch):
    table = tmp_path / "xp3_languages.csv"
    table.write_text("language,kilobytes,samples\nak,1,2\nar,x,3\n")
    bad = xp3_table.Collection("xp3", "xP3", "bigscience/xP3", "{lang}/merged_{lang}.jsonl", str(table), "m")
    monkeypatch.setitem(xp3.COLLECTIONS, "bad", bad)
    with pytest.raises(CatalogError, match=r"xp3_languages.csv:3: kilobytes must be a positive whole number"):
        xp3.load_languages.__wrapped__("bad")


@pytest.mark.parametrize("collection,code", ALL_TASKS, ids=[f"{c}.{l}" for c, l in ALL_TASKS])
def test_every_language_through_seqio_get_dataset(registered, collection, code):
    name = f"{collection}.{code}"
    ds = seqio.get_dataset(name, TEST_LENGTHS, dataset_split="train", shuffle=False, use_cached=False,
                           feature_converter=seqio.EncDecFeatureConverter(pack=False))
    examples = list(ds.as_numpy_iterator())
    folder = xp3.get_collection(collection).folder
    with open(os.path.join(SAMPLES_DIR, folder, code, f"merged_{code}.jsonl"), encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    assert len(examples) == len(records) >= 2
    assert RENDER_STATS[(name, "train")].rendered == len(records)
    for ex in examples:
        targets = ex["decoder_target_tokens"][ex["decoder_target_tokens"] > 0]
        assert targets[-1] == 1 and ex["encoder_input_tokens"].any()  # EOS ends the targets
    if code in SCRIPTS:
        text = "".join(r["inputs"] + r["targets"] for r in records)
        assert any(unicodedata.name(ch, "").startswith(SCRIPTS[code]) for ch in text), code


@pytest.mark.parametrize("collection", ["xp3", "xp3mt"])
def test_mixture_rates_equal_the_table(registered, collection):
    mixture = seqio.get_mixture_or_task(xp3.get_collection(collection).mixture)
    table = {f"{collection}.{lang.code}": lang.samples for lang in xp3.load_languages(collection)}
    assert {t.name: mixture.get_rate(t) for t in mixture.tasks} == table
    if collection == "xp3":
        assert mixture.total_rate == 78_883_588


def test_register_mixture_subset_bytes_temperature(registered):
    assert xp3.register_mixture("test_xp3_bytes", languages=["sw", "yo"], weight_by="bytes") == "test_xp3_bytes"
    mixture = seqio.get_mixture_or_task("test_xp3_bytes")
    assert {t.name: mixture.get_rate(t) for t in mixture.tasks} == {"xp3.sw": 560_896, "xp3.yo": 352_784}
    rates = xp3.mixture_rates("xp3", ["en", "sw"], temperature=2.0)
    assert rates == {"xp3.en": pytest.approx(math.sqrt(31_495_184)), "xp3.sw": pytest.approx(math.sqrt(1_114_455))}
    # The same again is a no-op; other rates under the same name are refused.
    assert xp3.register_mixture("test_xp3_bytes", languages=["sw", "yo"], weight_by="bytes") == "test_xp3_bytes"
    with pytest.raises(ValueError, match="already registered with other tasks or rates"):
        xp3.register_mixture("test_xp3_bytes", languages=["sw", "yo"])


def test_register_mixture_mixes_other_tasks_in_at_their_share(registered):
    name = xp3.register_mixture("test_xp3_plus_rte", languages=["sw", "yo"],
                                mix_in=[("super_glue_rte_GPT_3_style", 0.25)])
    mixture = seqio.get_mixture_or_task(name)
    shares = {t.name: mixture.get_rate(t) / mixture.total_rate for t in mixture.tasks}
    assert shares["super_glue_rte_GPT_3_style"] == pytest.approx(0.25)
    assert shares["xp3.sw"] / shares["xp3.yo"] == pytest.approx(1_114_455 / 918_416)
    assert shares["xp3.sw"] + shares["xp3.yo"] == pytest.approx(0.75)


def test_register_mixture_mixes_a_whole_mixture_in(registered):
    mixture = seqio.get_mixture_or_task(
        xp3.register_mixture("test_xp3_sw_plus_xp3mt", languages=["sw"], mix_in={"mt5_xp3mt_train": 0.5}))
    shares = {t.name: mixture.get_rate(t) / mixture.total_rate for t in mixture.tasks}
    assert len(shares) == 47 and shares["xp3.sw"] == pytest.approx(0.5)
    assert shares["xp3mt.yo"] == pytest.approx(0.5 * 913_021 / sum(lang.samples for lang in XP3MT))


def test_mixture_errors_name_the_problem(registered):
    with pytest.raises(UnknownNameError, match="Did you mean: sw"):
        xp3.mixture_rates("xp3", ["swa"])
    with pytest.raises(ValueError, match="no kilobytes for fr"):
        xp3.mixture_rates("xp3mt", ["fr", "yo"], weight_by="bytes")
    with pytest.raises(ValueError, match="listed twice: sw"):
        xp3.mixture_rates("xp3", ["sw", "sw"])
    with pytest.raises(ValueError, match="must leave a share"):
        xp3.mixture_rates("xp3", ["sw"], mix_in={"a": 0.6, "b": 0.5})
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        xp3.mixture_rates("xp3", ["sw"], temperature=0)
    with pytest.raises(UnknownNameError, match="task or mixture to mix in 'no_such_task'"):
        xp3.register_mixture("test_xp3_bad_mix", languages=["sw"], mix_in={"no_such_task": 0.1})


def _write_jsonl(path, lines, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


@pytest.fixture
def sw_mirror(tmp_path, monkeypatch):
    """$MT0_DATA_DIR/xP3/sw/ laid out as prepare_xp3_train.py writes it: one file per (dataset, prompt)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    lang_dir = tmp_path / "xP3" / "sw"
    lang_dir.mkdir(parents=True)
    _write_jsonl(lang_dir / "xp3_Muennighoff_xwinograd_sw_test_a.jsonl", [
        json.dumps({"inputs": "Swali la kwanza?", "targets": "Ndiyo"}),
        "{not json",
        json.dumps({"inputs": "Swali la pili?"}),
        json.dumps({"inputs": "Swali la tatu?", "targets": "   "}),
    ])
    _write_jsonl(lang_dir / "xp3_mlqa_mlqa.sw.sw_validation_b.jsonl.gz", [
        json.dumps({"inputs": 7, "targets": "saba"}),
        json.dumps({"inputs": "Jibu?", "targets": "Hapana"}),
    ], gz=True)
    pq.write_table(pa.table({"inputs": ["Habari?", "Karibu?"], "targets": ["Nzuri", "Asante"]}),
                   lang_dir / "xp3_xlsum_swahili_train_c.parquet")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    return lang_dir


def test_mirror_reads_per_prompt_files_gz_and_parquet_counting_bad_records(registered, sw_mirror):
    source = seqio.get_mixture_or_task("xp3.sw").source
    examples = list(source.iter_examples("train"))
    assert [e["targets"] for e in examples] == ["Ndiyo", "Hapana", "Nzuri", "Asante"]
    stats = RENDER_STATS[("xp3.sw", "train")]
    assert (stats.records, stats.rendered) == (8, 4)
    assert dict(stats.errors) == {"invalid_record": 1, "missing_field": 1, "empty_target": 1, "not_a_string": 1}
    assert "xp3_Muennighoff_xwinograd_sw_test_a.jsonl:2" in stats.first_error["invalid_record"][1]


def test_mirror_shards_are_disjoint_and_cover_the_split(registered, sw_mirror):
    source = seqio.get_mixture_or_task("xp3.sw").source
    shards = [[e["targets"] for e in source.iter_examples("train", i, 3)] for i in range(3)]
    assert sorted(sum(shards, [])) == sorted(["Ndiyo", "Hapana", "Nzuri", "Asante"])


def test_strict_mode_raises_on_a_bad_record(registered, sw_mirror, monkeypatch):
    monkeypatch.setenv("MT0_STRICT", "1")
    with pytest.raises(BadRecordError, match=r"record 1 of .*invalid JSON"):
        list(seqio.get_mixture_or_task("xp3.sw").source.iter_examples("train"))


def test_merged_and_per_prompt_files_together_are_refused(registered, sw_mirror):
    _write_jsonl(sw_mirror / "merged_sw.jsonl", [json.dumps({"inputs": "a", "targets": "b"})])
    with pytest.raises(ValueError, match="merged_sw.jsonl and 3 other file"):
        seqio.get_mixture_or_task("xp3.sw").source.iter_examples("train")


def test_missing_language_lists_what_was_tried(registered, sw_mirror):
    with pytest.raises(DataNotFoundError) as err:
        seqio.get_mixture_or_task("xp3.yo").source.iter_examples("train")
    message = str(err.value)
    assert os.path.join("xP3", "yo", "*.jsonl.gz") in message and "merged_yo.jsonl" in message


def test_wrong_columns_are_named_when_the_split_is_located(registered, sw_mirror):
    for f in sw_mirror.iterdir():
        f.unlink()
    _write_jsonl(sw_mirror / "merged_sw.jsonl", [json.dumps({"question": "a", "answer": "b"})])
    with pytest.raises(KeyError, match=r"has no column 'inputs', 'targets'; its records have: answer, question"):
        seqio.get_mixture_or_task("xp3.sw").source.iter_examples("train")


def test_hub_reads_the_card_files_through_the_json_builder(registered, monkeypatch, no_network):
    import datasets

    calls = []

    def fake_load_dataset(path, **kwargs):
        calls.append((path, kwargs))
        return [{"inputs": "Swali?", "targets": "Jibu"}]

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    monkeypatch.setenv("MT0_DATA_SOURCE", "hub")
    examples = list(seqio.get_mixture_or_task("xp3mt.sw").source.iter_examples("train"))
    assert examples == [{"inputs": "Swali?", "targets": "Jibu"}]
    assert calls == [("json", {"data_files": "hf://datasets/bigscience/xP3mt/sw/*.jsonl",
                               "split": "train", "streaming": True})]


def test_hub_failure_is_a_data_not_found_error(registered, monkeypatch):
    import datasets

    def unreachable(path, **kwargs):
        raise ConnectionError("Couldn't reach the Hub")

    monkeypatch.setattr(datasets, "load_dataset", unreachable)
    monkeypatch.setenv("MT0_DATA_SOURCE", "hub")
    with pytest.raises(DataNotFoundError, match=r"hf://datasets/bigscience/xP3/en/merged_en.jsonl"):
        seqio.get_mixture_or_task("xp3.en").source.iter_examples("train")


def test_registration_reads_no_data(registered, monkeypatch):
    """Re-registering every xP3 task and mixture with file reading disabled."""

    def refuse(*args, **kwargs):
        raise AssertionError("registration read data")

    for module in (files, located, layouts):  # located/layouts hold their own references
        for name in ("read_files", "glob_files"):
            if hasattr(module, name):
                monkeypatch.setattr(module, name, refuse)
    for collection in xp3.COLLECTIONS.values():
        seqio.MixtureRegistry.remove(collection.mixture)
        for lang in xp3.load_languages(collection.name):
            seqio.TaskRegistry.remove(xp3.task_name(collection.name, lang.code))
    xp3.register()
    assert len(seqio.get_mixture_or_task("mt5_xp3_train").tasks) == 46
    assert len(seqio.get_mixture_or_task("mt5_xp3mt_train").tasks) == 46


def test_mt0_xp3_recipe(t5x_tree):  # noqa: F811
    stack = _stack(t5x_tree, "train", {"RUN_GIN": "mt0_xp3"})
    m = stack.macros
    assert m["MIXTURE_OR_TASK_NAME"] == "mt5_xp3_train"
    assert (m["BATCH_SIZE"], m["LOSS_NORMALIZING_FACTOR"]) == (512, "AVERAGE_PER_SEQUENCE")
    assert m["TASK_FEATURE_LENGTHS"] == {"inputs": 1024, "targets": 1024}
    assert stack.value("utils.DatasetConfig", "pack", "train") is False
    assert m["INITIAL_CHECKPOINT_PATH"] == "gs://t5-data/pretrained_models/t5x/mt5_xxl/checkpoint_1000000"
    assert m["TRAIN_STEPS"] == 1_030_000  # 30,000 steps after mT5's 1,000,000
    assert stack.value("utils.SaveCheckpointConfig", "period") == 1000
    # The released checkpoints (+7,000 XXL, +10,000 XL, +25,000 small/base/large) are all saved.
    assert all(step % 1000 == 0 and 1_000_000 + step <= m["TRAIN_STEPS"] for step in (7_000, 10_000, 25_000))
    assert stack.value("train_script.train", "train_eval_dataset_cfg") is None  # xP3 has no validation split
    assert "multilingual_t0.tasks" in stack.imports


def test_mt0_paper_recipe_picks_the_published_steps(t5x_tree):  # noqa: F811
    stack = _stack(t5x_tree, "train", {"RUN_GIN": "mt0_paper"})
    assert stack.macros["TRAIN_STEPS"] == 1_030_000
    assert stack.value("utils.SaveCheckpointConfig", "period") == 1000
    assert stack.macros["MIXTURE_OR_TASK_NAME"] == "mt5_d4_gpt_sglue_train"


def test_cli_list_show_stats_export(registered, capsys, tmp_path):
    from multilingual_t0.cli import main

    def run(*argv):
        code = main(list(argv) + ["--source", "samples"])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    listed = json.loads(run("list", "--mixture", "mt5_xp3_train", "--grep", r"^xp3\.(sw|code)$", "--json"))
    assert {r["task"]: r["rate"] for r in listed["tasks"]} == {"xp3.sw": 1_114_455, "xp3.code": 2_707_724}
    shown = json.loads(run("show", "xp3.sw", "-n", "2", "--json"))
    assert [s["targets"] for s in shown] == ["Yes", "Leo hali ya hewa ni nzuri."]
    stats = json.loads(run("stats", "xp3mt.zh", "--lengths", "inputs=1024,targets=1024", "--json"))
    assert "xp3mt.zh" in json.dumps(stats)
    run("export", "xp3.yo", "--out", str(tmp_path))
    with open(tmp_path / "xp3.yo.train.jsonl", encoding="utf-8") as f:
        exported = [json.loads(line) for line in f]
    assert [e["targets"] for e in exported] == ["Yes", "Ojú ọjọ́ dára lónìí.", "Ojú ọjọ́ dára lónìí.", "Yes", "No",
                                                "Yoruba", "Ojú ọjọ́ dára lónìí.", "2"]


def test_tiny_t5x_trains_mt0_xp3_with_own_data_mixed_in(tmp_path, vocab_path):
    """scripts/first_run.sh RUN_GIN=mt0_xp3 with a user's gin file mixing their JSONL into xP3: a
    2-layer model trains 3 steps on the sample data with real T5X (skipped where T5X is not importable)."""
    import importlib.util
    import subprocess
    import sys

    spec = importlib.util.find_spec("t5x")
    if spec is None:
        pytest.skip("T5X is not importable (not on PyPI; clone github.com/google-research/t5x to run this)")
    mine = tmp_path / "mine.jsonl"
    mine.write_text("".join(json.dumps({"question": f"{i} + {i}?", "answer": str(2 * i)}) + "\n" for i in range(20)))
    (tmp_path / "tiny.gin").write_text(
        "from __gin__ import dynamic_registration\nfrom t5x.examples.t5 import network\n"
        "network.T5Config:\n  vocab_size = 1024\n  dtype = 'float32'\n  emb_dim = 32\n  num_heads = 2\n"
        "  num_encoder_layers = 2\n  num_decoder_layers = 2\n  head_dim = 16\n  mlp_dim = 64\n")
    (tmp_path / "mine.gin").write_text(
        "from __gin__ import dynamic_registration\nfrom multilingual_t0 import custom\nfrom multilingual_t0 import xp3\n"
        f"custom.add_task.name = 'tiny_t5x_mine'\ncustom.add_task.splits = {{'train': '{mine}'}}\n"
        "custom.add_task.inputs_field = 'question'\ncustom.add_task.targets_field = 'answer'\n"
        "xp3.register_mixture.name = 'tiny_t5x_xp3_plus_mine'\n"
        "xp3.register_mixture.mix_in = [(@custom.add_task(), 0.1)]\n"
        "MIXTURE_OR_TASK_NAME = @xp3.register_mixture()\n")
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHON": sys.executable, "T5X_DIR": os.path.dirname(os.path.dirname(spec.origin)),
           "MODEL_SIZE": "small", "RUN_GIN": "mt0_xp3", "JAX_PLATFORMS": "cpu", "MT0_DATA_SOURCE": "samples",
           "MODEL_DIR": str(tmp_path / "model"), "TFDS_DATA_DIR": str(tmp_path / "tfds")}
    train = subprocess.run(
        [os.path.join(repo, "scripts/first_run.sh"), f"--gin_file={tmp_path / 'tiny.gin'}",
         f"--gin_file={tmp_path / 'mine.gin'}", "TASK_FEATURE_LENGTHS={'inputs': 64, 'targets': 16}",
         "TRAIN_STEPS=3", "BATCH_SIZE=4", "INITIAL_CHECKPOINT_PATH=None", "EVAL_PERIOD=3",
         "utils.SaveCheckpointConfig.period=3"],
        env=env, capture_output=True, text=True, timeout=900)
    assert train.returncode == 0, train.stderr[-3000:]
    assert (tmp_path / "model" / "checkpoint_3").is_dir()
    assert "Initializing resumable input 'tiny_t5x_xp3_plus_mine'" in train.stderr
    # The run gin's dataset checkpoints: the input's position saved with the model.
    saved = [p for p in (tmp_path / "model" / "checkpoint_3").rglob("train_ds-000-of-001*")]
    assert saved and '"skip_rows"' in saved[0].read_text()
