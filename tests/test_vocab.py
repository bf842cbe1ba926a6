import unicodedata

import seqio

from multilingual_t0.pipeline import vocab
from multilingual_t0.pipeline.sample_vocab import train_vocab

TEXTS = ["Привет, мир! Как дела?", "你好，世界。今天天气很好。", "مرحبا بالعالم", "नमस्ते दुनिया",
         "Γειά σου κόσμε", "こんにちは世界", "Habari ya dunia 😀"]


def test_setting_switches_the_vocabulary(monkeypatch, vocab_path):
    assert vocab.vocabulary_path() == vocab_path
    monkeypatch.delenv("MT0_VOCAB")
    assert vocab.vocabulary_path() == "gs://t5-data/vocabs/mc4.250000.100extra/sentencepiece.model"
    assert vocab.EXTRA_IDS == 0


def test_task_features_use_the_setting(registered, vocab_path):
    task = seqio.get_mixture_or_task("super_glue_rte_GPT_3_style")
    for feature in task.output_features.values():
        assert feature.vocabulary.sentencepiece_model_file == vocab_path
    assert task.output_features["targets"].add_eos and not task.output_features["inputs"].add_eos


def test_non_latin_text_survives_tokenization_with_byte_fallback(vocab_path):
    v = seqio.SentencePieceVocabulary(vocab_path)
    for text in TEXTS:
        expected = unicodedata.normalize("NFKC", text)  # SentencePiece's (and mT5's) normalisation
        ids = v.encode(text)
        assert 2 not in ids, f"unknown token in {text!r}"  # byte fallback: no <unk>
        assert v.decode(ids) == expected
        # and through TensorFlow, as the tasks tokenize
        assert v.decode_tf(v.encode_tf(text)).numpy().decode("utf-8") == expected


def test_local_vocab_is_deterministic(tmp_path):
    a = train_vocab(str(tmp_path / "a.model"), texts=TEXTS * 20, vocab_size=600)
    b = train_vocab(str(tmp_path / "b.model"), texts=TEXTS * 20, vocab_size=600)
    assert open(a, "rb").read() == open(b, "rb").read()
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=a)
    assert (sp.pad_id(), sp.eos_id(), sp.unk_id(), sp.bos_id()) == (0, 1, 2, -1)
