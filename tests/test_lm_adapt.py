"""mT5 LM adaptation: mC4 table and rates, the prefix-LM objective (seqio and HF), mixtures, errors.

Statistical tests run with fixed seeds (so they are deterministic) and check against stated bounds.
"""

import collections
import json
import math

import numpy as np
import pytest
import seqio
import tensorflow as tf
from scipy import stats

from multilingual_t0 import lm_adapt, settings
from multilingual_t0.catalog import mc4
from multilingual_t0.errors import DataNotFoundError, UnknownNameError
from multilingual_t0.pipeline import lm_adapt_hf, mc4_source
from multilingual_t0.pipeline.vocab import get_vocabulary
from multilingual_t0.sources.layouts import mc4_split, mc4_texts
from multilingual_t0.sources.located import locate

LENGTHS = {"inputs": 64, "targets": 32}


def sample_documents(code, split):
    """The documents of an mC4 language split in the embedded samples, in file order."""
    located = locate(mc4_split(code, split), settings.current().replace(source="samples"))
    return list(mc4_texts(located.records(), located.origin))

SAMPLE_LANGUAGES = ["en", "ru", "zh", "ar", "hi", "sw"]  # six scripts: Latin, Cyrillic, Han, Arabic, ...
SAMPLE_MIXTURE = "mt5_lm_adapt_test_samples"
CHI2_MIN_P = 1e-3  # a fixed-seed draw; a wrong rate or split rule gives p far below this
EOS = 1


# ------------------------------------------------------------------------------------------- table


def test_table_has_the_107_mc4_splits():
    codes = mc4.load_languages_codes()
    assert len(codes) == 107
    assert sum(c.endswith("-Latn") for c in codes) == 6
    assert codes[0] == "en" and "zh-Latn" in codes and "iw" in codes
    assert mc4.get_language("zh_Latn").code == "zh-Latn"
    assert mc4.get_language("ja-Latn").tfds_split("validation") == "ja-Latn-validation"


def test_sample_text_ships_for_six_scripts():
    assert mc4.sample_languages() == SAMPLE_LANGUAGES


def test_unknown_language_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean: zh-Latn"):
        lm_adapt.task_name("zh_latn")


# ------------------------------------------------------------------------------------------- rates


def test_rates_sum_to_one_and_follow_pages_to_the_0_3():
    rates = mc4.sampling_rates()
    assert len(rates) == 107
    assert math.isclose(sum(rates.values()), 1.0, rel_tol=1e-12)
    # golden numbers: pages^0.3 / Σ pages^0.3 over the 107 (en 3,067M pages, yo 0.05M)
    assert rates["en"] == pytest.approx(0.0558409228, rel=1e-7)
    assert rates["yo"] == pytest.approx(0.0020446993, rel=1e-7)
    assert rates["sw"] == pytest.approx(0.0050227141, rel=1e-7)
    pages = {l.code: l.pages_millions for l in mc4.load_languages()}
    for a, b in [("en", "ru"), ("de", "sw"), ("zh-Latn", "haw")]:
        assert rates[a] / rates[b] == pytest.approx((pages[a] / pages[b]) ** 0.3, rel=1e-12)


def test_rates_for_a_subset_and_another_alpha():
    sub = mc4.sampling_rates(SAMPLE_LANGUAGES)
    assert list(sub) == SAMPLE_LANGUAGES and math.isclose(sum(sub.values()), 1.0)
    assert sub["en"] == pytest.approx(0.390661, abs=1e-6)
    uniform = mc4.sampling_rates(SAMPLE_LANGUAGES, alpha=0.0)
    assert all(r == pytest.approx(1 / 6) for r in uniform.values())
    with pytest.raises(ValueError, match="twice"):
        mc4.sampling_rates(["en", "en"])
    with pytest.raises(ValueError, match="alpha"):
        mc4.sampling_rates(alpha=-1)


def test_registered_mixture_covers_all_107(registered):
    mixture = seqio.get_mixture_or_task("mt5_lm_adapt")
    rates = {t.name: mixture.get_rate(t) for t in mixture.tasks}
    assert len(rates) == 107 and math.isclose(sum(rates.values()), 1.0, rel_tol=1e-12)
    assert rates["mt5_lm_adapt.en"] == pytest.approx(0.0558409228, rel=1e-7)
    assert "mt5_lm_adapt.zh_Latn" in rates


def test_add_mixture_returns_the_name_for_gin(registered):
    name = lm_adapt.add_mixture("mt5_lm_adapt_test_gin", ["sw", "yo"])
    assert name == "mt5_lm_adapt_test_gin" and lm_adapt.add_mixture(name, ["sw", "yo"]) == name
    assert {t.name for t in seqio.get_mixture_or_task(name).tasks} == {"mt5_lm_adapt.sw", "mt5_lm_adapt.yo"}


def test_register_mixture_is_idempotent_and_refuses_other_rates(registered):
    a = lm_adapt.register_mixture(SAMPLE_MIXTURE, SAMPLE_LANGUAGES)
    assert lm_adapt.register_mixture(SAMPLE_MIXTURE, SAMPLE_LANGUAGES) is a
    with pytest.raises(ValueError, match="already registered"):
        lm_adapt.register_mixture(SAMPLE_MIXTURE, SAMPLE_LANGUAGES, alpha=0.5)


# ------------------------------------------------------------------------ objective: seqio path


def _doc_token_strings():
    """language -> token ids of each sample document, as ',id,id,...,' strings for span search."""
    vocab = get_vocabulary()
    out = {}
    for code in SAMPLE_LANGUAGES:
        docs = sample_documents(code, "train")
        out[code] = ["," + ",".join(map(str, vocab.encode(t))) + "," for t in docs]
    return out


def _span_languages(example, docs):
    """Languages having a document of which inputs + targets (EOS removed) is a contiguous span."""
    span = "," + ",".join(map(str, list(example["inputs"][:-1]) + list(example["targets"][:-1]))) + ","
    return [code for code, strings in docs.items() if any(span in s for s in strings)]


def _check_shape(example, lengths):
    inputs, targets = list(example["inputs"]), list(example["targets"])
    assert inputs[-1] == EOS and targets[-1] == EOS  # EOS ends both, as in mT5 pretraining
    assert len(inputs) >= 2 and len(targets) >= 2  # non-empty besides EOS
    assert EOS not in inputs[:-1] and EOS not in targets[:-1]
    assert len(inputs) <= lengths["inputs"] and len(targets) <= lengths["targets"]


@pytest.mark.parametrize("code", SAMPLE_LANGUAGES)
def test_task_yields_contiguous_prefix_lm_spans(registered, code):
    docs = _doc_token_strings()
    task = seqio.get_mixture_or_task(lm_adapt.task_name(code))
    seen = 0
    for ex in task.get_dataset(LENGTHS, split="train", shuffle=False, seed=0).as_numpy_iterator():
        _check_shape(ex, LENGTHS)
        assert code in _span_languages(ex, docs)
        seen += 1
    assert seen >= 10  # several segments per document at these lengths


def test_targets_are_trimmed_to_the_targets_length(registered, tmp_path, monkeypatch):
    """Through the registered task: long documents give full segments, whose targets the chain trims to the
    targets length (EOS last), and each example is still a contiguous span of its document."""
    vocab = get_vocabulary()
    words = " ".join(f"word{i}" for i in range(400))
    path = tmp_path / "mc4" / "ha" / "train.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"text": words}) + "\n", encoding="utf-8")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    lengths = {"inputs": 129, "targets": 16}
    ds = seqio.get_mixture_or_task("mt5_lm_adapt.ha").get_dataset(lengths, split="train", shuffle=False, seed=0)
    examples = list(ds.as_numpy_iterator())
    document = "," + ",".join(map(str, vocab.encode(words))) + ","
    assert len(examples) >= 5
    for ex in examples:
        _check_shape(ex, lengths)
        assert "," + ",".join(map(str, list(ex["inputs"][:-1]) + list(ex["targets"][:-1]))) + "," in document
    assert max(len(ex["targets"]) for ex in examples) == 16
    assert max(len(ex["inputs"]) for ex in examples) > 64  # the inputs length decides the segments


def test_python_tokenization_equals_seqio_tokenize(registered):
    """The documents are tokenized in Python (SentencePiece) before the objective: the same ids as seqio's
    TensorFlow tokenize of the same text, in all six sample scripts."""
    vocab = get_vocabulary()
    texts = [t for code in SAMPLE_LANGUAGES for t in sample_documents(code, "train")]
    ds = tf.data.Dataset.from_tensor_slices({"targets": texts})
    ds = seqio.preprocessors.tokenize(ds, mc4_source.output_features(), copy_pretokenized=False)
    tf_ids = [list(ex["targets"]) for ex in ds.as_numpy_iterator()]
    assert tf_ids == [vocab.tokenizer.EncodeAsIds(t) for t in texts]


# ---------------------------------------------------------------------------- mixture sampling


def _mixture_examples(n, seed, shuffle=True, name=SAMPLE_MIXTURE, languages=SAMPLE_LANGUAGES):
    mixture = lm_adapt.register_mixture(name, languages)
    ds = mixture.get_dataset(LENGTHS, split="train", seed=seed, shuffle=shuffle, num_epochs=None)
    return list(ds.take(n).as_numpy_iterator())


def test_mixture_language_frequencies_match_the_rates(registered):
    n = 10_000
    docs = _doc_token_strings()
    counts = collections.Counter()
    # shuffle=False: seqio's per-task shuffle reorders examples but cannot change the language draw
    for ex in _mixture_examples(n, seed=11, shuffle=False):
        _check_shape(ex, LENGTHS)
        owners = _span_languages(ex, docs)
        assert owners, "an example is not a span of any sample document"
        counts[owners[0] if len(owners) == 1 else "ambiguous"] += 1
    assert counts["ambiguous"] <= 0.01 * n
    rates = mc4.sampling_rates(SAMPLE_LANGUAGES)
    observed = np.array([counts[c] for c in SAMPLE_LANGUAGES])
    expected = np.array([rates[c] for c in SAMPLE_LANGUAGES]) * observed.sum()
    assert stats.chisquare(observed, expected).pvalue > CHI2_MIN_P
    # tolerance: each frequency within 0.015 (3σ of a 10,000-draw frequency is ≤ 0.015)
    assert np.abs(observed / observed.sum() - expected / observed.sum()).max() < 0.015


def test_mixture_is_deterministic_with_a_seed(registered):
    # shuffle=False keeps this fast (no shuffle buffers to fill); the seed still drives the language
    # sampling, the chunk and the split points
    a, b, c = [_mixture_examples(200, seed=s, shuffle=False, name="mt5_lm_adapt_test_en_zh",
                                 languages=["en", "zh"]) for s in (5, 5, 6)]
    key = lambda exs: [(tuple(e["inputs"]), tuple(e["targets"])) for e in exs]  # noqa: E731
    assert key(a) == key(b)
    assert key(a) != key(c)


# ----------------------------------------------------------------------------------- errors


def test_missing_language_names_it_and_the_paths(registered):
    task = seqio.get_mixture_or_task("mt5_lm_adapt.de")
    with pytest.raises(DataNotFoundError, match=r"mC4 language 'de' \(German\) split 'train'") as err:
        task.get_dataset(LENGTHS, split="train")
    assert "samples/mc4/de/train.jsonl" in str(err.value)
    assert "en, ru, zh, ar, hi, sw" in str(err.value)


def _empty_mirror(tmp_path, monkeypatch):
    path = tmp_path / "mc4" / "sw" / "train.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"text": "   "}) + "\n" + json.dumps({"url": "x"}) + "\n", encoding="utf-8")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    return path


def test_empty_language_source_names_it(registered, tmp_path, monkeypatch):
    path = _empty_mirror(tmp_path, monkeypatch)
    task = seqio.get_mixture_or_task("mt5_lm_adapt.sw")
    expected = r"mC4 language 'sw' \(Swahili\) split 'train' \(mirror\)"
    with pytest.raises(DataNotFoundError, match=expected) as err:
        task.get_dataset(LENGTHS, split="train")
    assert str(path) in str(err.value) and "no record with a non-empty 'text'" in str(err.value)


def test_mirror_is_read_when_selected(registered, tmp_path, monkeypatch):
    path = tmp_path / "mc4" / "ha" / "validation.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"text": "Wannan gwaji ne kawai. " * 20}) + "\n", encoding="utf-8")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    ds = seqio.get_mixture_or_task("mt5_lm_adapt.ha").get_dataset(LENGTHS, split="validation", seed=0)
    assert len(list(ds.as_numpy_iterator())) > 0


def test_missing_tfds_is_a_clear_error_offline(registered, tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("MT0_DATA_SOURCE", "tfds")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    task = seqio.get_mixture_or_task("mt5_lm_adapt.sw")
    with pytest.raises(DataNotFoundError, match=r"mC4 language 'sw' \(Swahili\) split 'train' \(TFDS\)") as err:
        task.get_dataset(LENGTHS, split="train")
    assert "c4/multilingual:3.1.0 split 'sw'" in str(err.value) and str(tmp_path) in str(err.value)
    assert not any(tmp_path.iterdir())  # read-only: nothing downloaded or prepared


# ------------------------------------------------------------------------------------ HF path


def test_hf_stream_language_probabilities_and_shape(no_network):
    n = 10_000
    docs = _doc_token_strings()
    stream = lm_adapt_hf.lm_adapt_stream(SAMPLE_LANGUAGES, source="samples", seed=2,
                                         inputs_length=LENGTHS["inputs"], targets_length=LENGTHS["targets"])
    counts = collections.Counter()
    for i, ex in enumerate(stream.take(n)):
        counts[ex["language"]] += 1
        if i < 600:  # shape and contiguity on a prefix of the stream (span search is the slow part)
            _check_shape(ex, LENGTHS)
            assert ex["language"] in _span_languages(ex, docs)
    rates = mc4.sampling_rates(SAMPLE_LANGUAGES)
    observed = np.array([counts[c] for c in SAMPLE_LANGUAGES])
    assert observed.sum() == n
    assert stats.chisquare(observed, np.array([rates[c] for c in SAMPLE_LANGUAGES]) * n).pvalue > CHI2_MIN_P
    assert np.abs(observed / n - np.array([rates[c] for c in SAMPLE_LANGUAGES])).max() < 0.02


def test_hf_stream_is_deterministic_with_a_seed():
    def first(seed):
        stream = lm_adapt_hf.lm_adapt_stream(["en", "sw", "zh"], source="samples", seed=seed,
                                             inputs_length=32, targets_length=16)
        return [(ex["language"], tuple(ex["inputs"]), tuple(ex["targets"])) for ex in stream.take(100)]

    assert first(4) == first(4)
    assert first(4) != first(5)


def test_hf_stream_errors_name_the_language(tmp_path, monkeypatch):
    with pytest.raises(DataNotFoundError, match=r"mC4 language 'de' \(German\)"):
        lm_adapt_hf.lm_adapt_stream(["en", "de"], source="samples")
    path = _empty_mirror(tmp_path, monkeypatch)
    with pytest.raises(DataNotFoundError, match=r"mC4 language 'sw'") as err:
        lm_adapt_hf.lm_adapt_stream(["sw"], source="mirror", data_dir=str(tmp_path))
    assert str(path) in str(err.value)


def test_bad_mc4_records_are_counted_and_reported(tmp_path, caplog):
    import logging

    from multilingual_t0.sources.reading import read_split

    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "one"}\n{not json\n{"url": "x"}\n{"text": "two"}\n', encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="multilingual_t0.sources.layouts"):
        assert list(mc4_texts(read_split([str(path)]), str(path))) == ["one", "two"]
    assert any("skipped 2 undecodable or empty records" in m and "train.jsonl:2" in m for m in caplog.messages)


def _two_split_mirror(tmp_path, monkeypatch, code="ha"):
    """A mirror whose train and validation documents share no letter."""
    for split, letters in SPLIT_LETTERS.items():
        path = tmp_path / "mc4" / code / f"{split}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        words = [letters[i:] + letters[:i] for i in range(len(letters))]
        path.write_text("".join(json.dumps({"text": " ".join(words * (10 + d))}) + "\n" for d in range(3)),
                        encoding="utf-8")
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))


SPLIT_LETTERS = {"train": "abcde", "validation": "vwxyz"}


@pytest.mark.parametrize("split", ["validation", "train"])
def test_each_split_reads_its_own_documents(registered, tmp_path, monkeypatch, split):
    _two_split_mirror(tmp_path, monkeypatch)
    vocab = get_vocabulary()
    ds = seqio.get_mixture_or_task("mt5_lm_adapt.ha").get_dataset(LENGTHS, split=split, shuffle=False, seed=0)
    texts = [vocab.decode(list(ex["inputs"][:-1]) + list(ex["targets"][:-1])) for ex in ds.as_numpy_iterator()]
    assert texts and all(set(t.replace(" ", "")) <= set(SPLIT_LETTERS[split]) for t in texts), texts[:3]


def test_sample_validation_documents_are_not_the_train_documents(registered):
    """In the samples too, every validation example is a span of a validation document only."""
    vocab = get_vocabulary()
    docs = {split: ["," + ",".join(map(str, vocab.encode(t))) + "," for t in sample_documents("ar", split)]
            for split in ("train", "validation")}
    ds = seqio.get_mixture_or_task("mt5_lm_adapt.ar").get_dataset(LENGTHS, split="validation", shuffle=False, seed=0)
    examples = list(ds.as_numpy_iterator())
    assert examples
    for ex in examples:
        span = "," + ",".join(map(str, list(ex["inputs"][:-1]) + list(ex["targets"][:-1]))) + ","
        assert any(span in d for d in docs["validation"]) and not any(span in d for d in docs["train"])


def test_mc4_version_setting_picks_the_tfds_version(registered, tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("MT0_DATA_SOURCE", "tfds")
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MT0_MC4_VERSION", "3.0.1")
    with pytest.raises(DataNotFoundError, match=r"c4/multilingual:3\.0\.1 split 'sw-validation'"):
        seqio.get_mixture_or_task("mt5_lm_adapt.sw").get_dataset(LENGTHS, split="validation")
