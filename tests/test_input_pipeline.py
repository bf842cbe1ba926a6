"""The batched Python -> TensorFlow boundary and batched tokenize feed T5X exactly what the
per-example path (seqio's own tokenize, one example per generator call) feeds it."""

import json
import pickle

import pytest
import seqio
import tensorflow as tf

from conftest import TEST_LENGTHS, assert_same_examples
from multilingual_t0.pipeline import streamed_source
from multilingual_t0.pipeline import preprocessors
from multilingual_t0.pipeline import vocab

# Generation (no choices), choices, rank-classification twins, a multilingual eval twin, an xP3 language.
TASKS = [
    ("common_gen_Given_concepts_type_1", "train"),
    ("super_glue_rte_GPT_3_style", "train"),
    ("super_glue_rte_GPT_3_style_score_eval", "validation"),
    ("cos_e_v1.11_description_question_option_id", "train"),
    ("cos_e_v1.11_description_question_option_id_score_eval", "validation"),
    ("anli_GPT_3_style_r1_score_eval", "validation"),
    ("xcopa.qu_best_option_score_eval", "validation"),
    ("xp3.zh", "train"),  # records that already hold inputs/targets (xP3, the user's own files)
]


def _examples(task_name, split, boundary, monkeypatch, repeats=1):
    monkeypatch.setenv("MT0_INPUT_BOUNDARY", boundary)
    task = seqio.get_mixture_or_task(task_name)
    ds = task.get_dataset(TEST_LENGTHS, split=split, shuffle=False, use_cached=False, num_epochs=repeats)
    return ds.element_spec, list(ds.as_numpy_iterator())


@pytest.fixture
def small_batches(monkeypatch):
    """Chunks smaller than the sample splits, so batches end mid-split (remainders, several calls)."""
    monkeypatch.setattr(streamed_source, "EXAMPLES_PER_CALL", 2)
    monkeypatch.setattr(preprocessors, "TOKENIZE_BATCH", 3)


@pytest.mark.parametrize("task_name,split", TASKS, ids=[t for t, _ in TASKS])
def test_batched_boundary_gives_the_per_example_examples(registered, monkeypatch, small_batches,
                                                         task_name, split):
    spec_old, old = _examples(task_name, split, "per_example", monkeypatch, repeats=2)
    spec_new, new = _examples(task_name, split, "batched", monkeypatch, repeats=2)
    assert spec_new == spec_old
    assert len(old) >= 4 and len(new) == len(old)  # two passes (repeat) of a non-empty split
    assert_same_examples(old, new)


@pytest.mark.parametrize("task_name,split", TASKS[:3], ids=[t for t, _ in TASKS[:3]])
def test_ids_are_sentencepieces_own(registered, monkeypatch, small_batches, task_name, split):
    """Independent of TensorFlow: the ids are the Python SentencePiece encoding of the strings."""
    sp = seqio.SentencePieceVocabulary(vocab.vocabulary_path(), extra_ids=vocab.EXTRA_IDS).tokenizer
    _, examples = _examples(task_name, split, "batched", monkeypatch)
    for ex in examples:
        assert ex["inputs"].tolist() == sp.EncodeAsIds(ex["inputs_pretokenized"].decode())
        assert ex["targets"].tolist() == sp.EncodeAsIds(ex["targets_pretokenized"].decode()) + [1]


def test_many_records_cross_in_full_batches(registered, monkeypatch, tmp_path):
    """600 records (2 full generator calls + a remainder): same examples, same order, both paths."""
    folder = tmp_path / "super_glue" / "rte"
    folder.mkdir(parents=True)
    with open(folder / "train.jsonl", "w") as f:
        for i in range(600):
            f.write(json.dumps({"premise": f"Record {i} says the river rose {i % 7} feet.",
                                "hypothesis": f"The river rose {i % 5} feet.", "idx": i,
                                "label": i % 2}) + "\n")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    _, old = _examples("super_glue_rte_GPT_3_style", "train", "per_example", monkeypatch)
    _, new = _examples("super_glue_rte_GPT_3_style", "train", "batched", monkeypatch)
    assert len(new) == len(old) == 600
    assert [e["inputs_pretokenized"] for e in new][:3] == [e["inputs_pretokenized"] for e in old][:3]
    assert_same_examples(old, new)


def test_sources_yield_the_rendered_examples(registered, monkeypatch, small_batches):
    """A twin's source yields the rendered strings; a training task's source, their seqio tokenization."""
    monkeypatch.setenv("MT0_INPUT_BOUNDARY", "batched")
    twin = seqio.get_mixture_or_task("super_glue_rte_GPT_3_style_score_eval").source
    rendered = list(twin.iter_examples("train"))
    got = list(twin.get_dataset("train", shuffle=False).as_numpy_iterator())
    assert [e["inputs"].decode() for e in got] == [e["inputs"] for e in rendered]
    assert [[c.decode() for c in e["answer_choices"]] for e in got] == [e["answer_choices"] for e in rendered]
    source = seqio.get_mixture_or_task("super_glue_rte_GPT_3_style").source
    assert source.tokenize_features is not None
    expected = seqio.preprocessors.tokenize(
        tf.data.Dataset.from_generator(lambda: iter(rendered), output_signature=dict(twin.output_signature)),
        source.tokenize_features)
    got = list(source.get_dataset("train", shuffle=False).as_numpy_iterator())
    assert len(got) == len(rendered) >= 3
    assert_same_examples(list(expected.as_numpy_iterator()), got)


def test_unknown_boundary_setting_is_named(registered, monkeypatch):
    monkeypatch.setenv("MT0_INPUT_BOUNDARY", "vectorised")
    with pytest.raises(ValueError, match="MT0_INPUT_BOUNDARY='vectorised'.*batched, per_example"):
        seqio.get_mixture_or_task("super_glue_rte_GPT_3_style").source.get_dataset("train")


def test_tasks_share_one_tensorflow_tokenizer(registered, monkeypatch):
    """Every task's tokenize graph uses one tokenizer (one loaded model), not one per task."""
    monkeypatch.setenv("MT0_INPUT_BOUNDARY", "batched")
    v = vocab.get_vocabulary()
    assert v.tf_tokenizer is v.tf_tokenizer
    for name in ("super_glue_rte_GPT_3_style", "common_gen_Given_concepts_type_1"):
        task = seqio.get_mixture_or_task(name)
        next(task.get_dataset(TEST_LENGTHS, split="train", shuffle=False).as_numpy_iterator())
    keys = [k for k in vocab._TF_TOKENIZERS if k[0] == vocab.vocabulary_path()]
    assert len(keys) == 1
    # Beam ships the vocabulary to workers: it pickles by value and still equals seqio's own class.
    copy = pickle.loads(pickle.dumps(v))
    assert copy == v == seqio.SentencePieceVocabulary(vocab.vocabulary_path(), extra_ids=vocab.EXTRA_IDS)
