"""custom.add_task: the user's own files end to end (files -> task -> packed batches), from Python and from
gin (alone and mixed into xP3), and each error a user can make."""

import gzip
import json

import gin
import numpy as np
import pytest
import seqio

from multilingual_t0 import custom
from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.prompting.renderer import RENDER_STATS
from multilingual_t0.sources.located import MissingColumnError


def _jsonl(path, records, gz=False):
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8") as f:
        for record in records:
            f.write((record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)) + "\n")
    return str(path)


@pytest.fixture
def qa_files(tmp_path):
    """Train in two shards (one gzipped, with two bad records), validation as Parquet; own column names."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _jsonl(tmp_path / "train-00000.jsonl", [{"question": f"Swali {i}?", "answer": f"Jibu {i}"} for i in range(6)])
    _jsonl(tmp_path / "train-00001.jsonl.gz", [{"question": "Q?", "answer": ""}, "{torn",
                                               {"question": "Wapi?", "answer": "Hapa"}], gz=True)
    pq.write_table(pa.table({"question": ["Nani?"], "answer": ["Mimi"], "id": [1]}), tmp_path / "dev.parquet")
    return tmp_path


def test_own_files_to_packed_batches(registered, qa_files):
    name = custom.add_task("test_own_qa", {"train": str(qa_files / "train-*.jsonl*"),
                                           "validation": [str(qa_files / "dev.parquet")]},
                           inputs_field="question", targets_field="answer")
    assert name == "test_own_qa"
    task = seqio.get_mixture_or_task(name)
    assert task.splits == ("train", "validation")
    assert [e["targets"] for e in task.source.iter_examples("validation")] == ["Mimi"]
    train = list(task.source.iter_examples("train"))
    assert [e["targets"] for e in train] == [f"Jibu {i}" for i in range(6)] + ["Hapa"]
    stats = RENDER_STATS[(name, "train")]
    assert (stats.records, stats.rendered, dict(stats.errors)) == (9, 7, {"empty_target": 1, "invalid_record": 1})

    ds = seqio.get_dataset(name, {"inputs": 64, "targets": 16}, dataset_split="train", shuffle=False,
                           use_cached=False, num_epochs=1, feature_converter=seqio.EncDecFeatureConverter(pack=True))
    batches = list(ds.batch(4, drop_remainder=False).as_numpy_iterator())
    first = batches[0]
    assert first["encoder_input_tokens"].shape[1] == 64 and first["decoder_target_tokens"].shape[1] == 16
    segments = np.concatenate([b["decoder_segment_ids"] for b in batches])
    assert segments.max() > 1  # several short examples packed into one row
    eos = sum(int((b["decoder_target_tokens"] == 1).sum()) for b in batches)
    assert eos == 7  # every good record, once, each target ended by EOS


def test_same_task_again_is_a_no_op_other_settings_an_error(registered, qa_files):
    splits = {"train": str(qa_files / "train-00000.jsonl")}
    args = dict(inputs_field="question", targets_field="answer")
    assert custom.add_task("test_own_again", splits, **args) == "test_own_again"
    assert custom.add_task("test_own_again", dict(splits), **args) == "test_own_again"
    with pytest.raises(ValueError, match="'test_own_again' is already registered with other settings"):
        custom.add_task("test_own_again", {"train": str(qa_files / "dev.parquet")}, **args)
    with pytest.raises(ValueError, match="'xp3.sw' is already registered by another part of the program"):
        custom.add_task("xp3.sw", splits, **args)


def test_no_file_matches(registered, tmp_path):
    pattern = str(tmp_path / "nothing-*.jsonl")
    with pytest.raises(DataNotFoundError) as err:
        custom.add_task("test_own_missing", {"train": pattern})
    assert isinstance(err.value, FileNotFoundError)
    assert "custom task 'test_own_missing' split 'train'" in str(err.value) and pattern in str(err.value)
    assert "test_own_missing" not in seqio.TaskRegistry.names()


def test_missing_column(registered, qa_files):
    with pytest.raises(MissingColumnError) as err:
        custom.add_task("test_own_columns", {"train": str(qa_files / "train-00000.jsonl")})
    message = str(err.value)
    assert isinstance(err.value, KeyError)
    assert "train-00000.jsonl has no column 'inputs', 'targets'; its records have: answer, question" in message
    assert "inputs_field=" in message


def test_unsupported_file_and_bad_arguments(registered, tmp_path):
    (tmp_path / "data.csv").write_text("inputs,targets\na,b\n")
    with pytest.raises(ValueError, match=r"data.csv is not a supported file type"):
        custom.add_task("test_own_csv", {"train": str(tmp_path / "data.*")})
    with pytest.raises(ValueError, match="must be letters, digits"):
        custom.add_task("my task", {"train": str(tmp_path / "data.csv")})
    with pytest.raises(ValueError, match="splits must map split names"):
        custom.add_task("test_own_nosplits", {})


GIN_ALONE = """
from __gin__ import dynamic_registration
from multilingual_t0 import custom

custom.add_task.name = 'test_own_gin'
custom.add_task.splits = {'train': '%(train)s'}
custom.add_task.inputs_field = 'question'
custom.add_task.targets_field = 'answer'
MIXTURE_OR_TASK_NAME = @custom.add_task()
"""

GIN_MIXED = """
from __gin__ import dynamic_registration
from multilingual_t0 import custom
from multilingual_t0 import xp3

custom.add_task.name = 'test_own_gin_mixed'
custom.add_task.splits = {'train': '%(train)s'}
custom.add_task.inputs_field = 'question'
custom.add_task.targets_field = 'answer'
xp3.register_mixture.name = 'test_xp3_plus_own'
xp3.register_mixture.languages = ['sw', 'yo']
xp3.register_mixture.mix_in = [(@custom.add_task(), 0.1)]
MIXTURE_OR_TASK_NAME = @xp3.register_mixture()
"""

GIN_LEGACY = """
import multilingual_t0.custom

custom.add_task.name = 'test_own_gin_legacy'
custom.add_task.splits = {'train': '%(train)s'}
custom.add_task.inputs_field = 'question'
custom.add_task.targets_field = 'answer'
MIXTURE_OR_TASK_NAME = @custom.add_task()
"""


def _macro_value(text):
    with gin.unlock_config():
        gin.parse_config(text)
        try:
            reference = gin.query_parameter("MIXTURE_OR_TASK_NAME/macro.value")
            return reference.scoped_configurable_fn()  # what gin calls when T5X reads %MIXTURE_OR_TASK_NAME
        finally:
            gin.clear_config()


@pytest.mark.parametrize("text,expected", [(GIN_ALONE, "test_own_gin"), (GIN_LEGACY, "test_own_gin_legacy")],
                         ids=["dynamic_registration", "legacy_import"])
def test_gin_binds_and_yields_the_task_name(registered, qa_files, text, expected):
    name = _macro_value(text % {"train": qa_files / "train-00000.jsonl"})
    assert name == expected
    examples = list(seqio.get_mixture_or_task(name).source.iter_examples("train"))
    assert len(examples) == 6 and examples[0] == {"inputs": "Swali 0?", "targets": "Jibu 0"}


def test_gin_mixes_own_data_into_xp3(registered, qa_files):
    name = _macro_value(GIN_MIXED % {"train": qa_files / "train-00000.jsonl"})
    assert name == "test_xp3_plus_own"
    mixture = seqio.get_mixture_or_task(name)
    shares = {t.name: mixture.get_rate(t) / mixture.total_rate for t in mixture.tasks}
    assert set(shares) == {"xp3.sw", "xp3.yo", "test_own_gin_mixed"}
    assert shares["test_own_gin_mixed"] == pytest.approx(0.1)


def _targets(dataset):
    # The source tokenizes in the batch (pipeline.streamed_source.StreamedSource); the text stays as *_pretokenized.
    return [e["targets_pretokenized"].decode() for e in dataset.as_numpy_iterator()]


@pytest.mark.parametrize("hosts", [2, 4, 5])  # <= 4 files: each host reads its files; 5: records modulo 5
def test_own_files_read_per_host_and_shuffled_by_seed(registered, tmp_path, hosts):
    """The user's files are read as every split of the package is (sources.reading.read_split): host shards are
    disjoint and cover the split, shuffle follows the seed, and shuffle=False keeps file order."""
    for k in range(4):  # sorted by target, as real dumps often are
        _jsonl(tmp_path / f"part-{k}.jsonl", [{"inputs": f"q{k}-{i}", "targets": f"{k}-{i:02d}"} for i in range(30)])
    name = custom.add_task(f"test_own_sharded_{hosts}", {"train": str(tmp_path / "part-*.jsonl")})
    source = seqio.get_mixture_or_task(name).source
    in_order = _targets(source.get_dataset("train", shuffle=False))
    assert in_order == sorted(in_order) and len(in_order) == 120

    shards = [_targets(source.get_dataset("train", shuffle=False, shard_info=seqio.ShardInfo(i, hosts)))
              for i in range(hosts)]
    assert sum(len(s) for s in shards) == 120 and sorted(sum(shards, [])) == in_order

    first = _targets(source.get_dataset("train", shuffle=True, seed=7))
    assert first == _targets(source.get_dataset("train", shuffle=True, seed=7))
    assert first != _targets(source.get_dataset("train", shuffle=True, seed=8))
    assert first != in_order and sorted(first) == in_order
    # The first quarter of a shuffled pass is not one file's block of targets.
    assert len({t.split("-")[0] for t in first[:30]}) > 1
