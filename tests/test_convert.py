"""Checkpoint conversion against real T5X output (tests/fixtures/t5x_tiny_mt5, made by
tests/fixtures/make_t5x_fixture.py with T5X): transformers must reproduce T5X's logits and greedy
decodes from the converted checkpoint, and converting back must give T5X's arrays bit for bit."""

import json
import os
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from multilingual_t0.cli import main as cli_main  # noqa: E402
from multilingual_t0.convert import to_hf, to_t5x  # noqa: E402
from multilingual_t0.convert.t5x_checkpoint import CheckpointNotFoundError, T5XCheckpoint  # noqa: E402
from multilingual_t0.errors import UnknownNameError  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "t5x_tiny_mt5")
SPM = os.path.join(FIXTURE, "spm.model")
LAYOUTS = ("orbax", "legacy")
# float32 on both sides; the differences are summation order (XLA vs PyTorch kernels).
LOGITS_ATOL = 1e-4
EXPECTED = np.load(os.path.join(FIXTURE, "expected.npz"))
with open(os.path.join(FIXTURE, "expected.json"), encoding="utf-8") as _f:
    META = json.load(_f)


@pytest.fixture(scope="module", params=LAYOUTS)
def converted(request, tmp_path_factory):
    out = str(tmp_path_factory.mktemp(f"hf_{request.param}"))
    info = to_hf(os.path.join(FIXTURE, request.param), out, vocab=SPM)
    return request.param, out, info


def _model(path, **kwargs):
    model, loading = transformers.AutoModelForSeq2SeqLM.from_pretrained(path, output_loading_info=True, **kwargs)
    assert not loading["missing_keys"] and not loading["unexpected_keys"] and not loading["mismatched_keys"]
    return model.eval()


def test_to_hf_reads_both_layouts(converted):
    layout, _, info = converted
    assert info["layout"].startswith(layout)
    assert info["checkpoint"].endswith(f"checkpoint_{META['train_steps']}")
    assert info["architecture_from"].endswith("config.gin")
    assert info["parameters"] == 115_328 and info["tied_head"] is False


def test_config_is_the_trained_architecture(converted):
    config = transformers.AutoConfig.from_pretrained(converted[1])
    dims = META["dims"]
    assert (config.model_type, config.vocab_size, config.d_model, config.num_heads, config.d_kv, config.d_ff,
            config.num_layers, config.num_decoder_layers) == (
        "mt5", dims["vocab_size"], dims["emb_dim"], dims["num_heads"], dims["head_dim"], dims["mlp_dim"],
        dims["num_encoder_layers"], dims["num_decoder_layers"])
    assert config.is_gated_act and config.dense_act_fn == "gelu_new"


def test_logits_match_t5x(converted):
    layout, out, _ = converted
    enc = EXPECTED[f"{layout}/encoder_input_tokens"]
    dec_in = EXPECTED[f"{layout}/decoder_input_tokens"]
    tgt = EXPECTED[f"{layout}/decoder_target_tokens"]
    want = EXPECTED[f"{layout}/logits"]
    with torch.no_grad():
        got = _model(out)(input_ids=torch.tensor(enc, dtype=torch.long),
                          attention_mask=torch.tensor(enc > 0, dtype=torch.long),
                          decoder_input_ids=torch.tensor(dec_in, dtype=torch.long)).logits.numpy()
    real = tgt > 0  # T5X masks padded target positions entirely; compare where it scores tokens
    assert got.shape == want.shape
    assert np.abs(want[real]).max() > 0.1  # a trained model, not all zeros
    np.testing.assert_allclose(got[real], want[real], atol=LOGITS_ATOL, rtol=0)


def test_written_config_loads_the_head_untied(converted):
    """config.json says the output head is not the input embedding (transformers 5's MT5Config would write true
    whatever it is given; transformers 4 obeys the file, and true ties lm_head to the embedding and scales the
    decoder output by d_model**-0.5)."""
    _, out, _ = converted
    with open(os.path.join(out, "config.json"), encoding="utf-8") as f:
        fields = json.load(f)
    assert fields["tie_word_embeddings"] is False and fields["model_type"] == "mt5"
    model = _model(out)
    assert model.lm_head.weight.data_ptr() != model.shared.weight.data_ptr()


# transformers 4 is not installed with the project (transformers 5 is): point TRANSFORMERS4_PYTHON at an interpreter
# that has transformers<5 and torch to run the check below (docs/conversion.md: how to make one).
TRANSFORMERS4_PYTHON = os.environ.get("TRANSFORMERS4_PYTHON")
TRANSFORMERS4_LOGITS = """
import sys
import numpy as np, torch, transformers
out, inputs, result = sys.argv[1:]
assert transformers.__version__.startswith("4."), "TRANSFORMERS4_PYTHON has transformers " + transformers.__version__
model = transformers.AutoModelForSeq2SeqLM.from_pretrained(out).eval()
given = np.load(inputs)
enc, dec = given["enc"], given["dec"]
with torch.no_grad():
    logits = model(input_ids=torch.tensor(enc, dtype=torch.long), attention_mask=torch.tensor(enc > 0, dtype=torch.long),
                   decoder_input_ids=torch.tensor(dec, dtype=torch.long)).logits.numpy()
np.savez(result, logits=logits, tied=model.lm_head.weight.data_ptr() == model.shared.weight.data_ptr(),
         version=transformers.__version__)
"""


@pytest.mark.skipif(not TRANSFORMERS4_PYTHON, reason="TRANSFORMERS4_PYTHON (an interpreter with transformers<5 and "
                                                     "torch) is not set")
def test_transformers_4_loads_the_converted_model_with_t5x_logits(converted, tmp_path):
    import subprocess

    layout, out, _ = converted
    inputs, result = tmp_path / "inputs.npz", tmp_path / "result.npz"
    np.savez(inputs, enc=EXPECTED[f"{layout}/encoder_input_tokens"], dec=EXPECTED[f"{layout}/decoder_input_tokens"])
    run = subprocess.run([TRANSFORMERS4_PYTHON, "-c", TRANSFORMERS4_LOGITS, out, str(inputs), str(result)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    got = np.load(result)
    assert str(got["version"]).startswith("4.") and not bool(got["tied"])
    real = EXPECTED[f"{layout}/decoder_target_tokens"] > 0
    np.testing.assert_allclose(got["logits"][real], EXPECTED[f"{layout}/logits"][real], atol=LOGITS_ATOL, rtol=0)


def _until_eos(row):
    row = [int(t) for t in row]
    return row[: row.index(1) + 1] if 1 in row else row


def test_greedy_decodes_match_t5x(converted):
    layout, out, _ = converted
    enc = EXPECTED[f"{layout}/encoder_input_tokens"]
    want = EXPECTED[f"{layout}/greedy_decodes"]
    with torch.no_grad():
        got = _model(out).generate(input_ids=torch.tensor(enc, dtype=torch.long),
                                   attention_mask=torch.tensor(enc > 0, dtype=torch.long),
                                   do_sample=False, num_beams=1, max_new_tokens=want.shape[1]).numpy()
    got = got[:, 1:]  # drop the decoder start token (T5X returns only generated tokens)
    assert [_until_eos(r) for r in got] == [_until_eos(r) for r in want]
    # Text as seqio decoded it, for rows inside the SentencePiece vocabulary (the model's 1,024 ids
    # pad its 1,000 pieces, as mT5's 250,112 pad 250,100; seqio shows padding ids as ⁇).
    tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    compared = 0
    for row, text in zip(got, META["greedy_decodes_text"][layout]):
        ids = _until_eos(row)
        if max(ids) < len(tokenizer):
            assert tokenizer.decode(ids, skip_special_tokens=True) == text
            compared += 1
    assert compared >= 2


def test_tokenizer_matches_the_sentencepiece_model(converted):
    import sentencepiece as spm

    tokenizer = transformers.AutoTokenizer.from_pretrained(converted[1])
    sp = spm.SentencePieceProcessor(model_file=SPM)
    texts = META["probe_texts"] + ["日本語 ☃ byte fallback", "  two  spaces\nnewline"]
    for text in texts:
        assert tokenizer(text).input_ids == sp.encode(text) + [1]
        assert tokenizer.decode(sp.encode(text)) == sp.decode(sp.encode(text))
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id, tokenizer.unk_token_id) == (0, 1, 2)


def test_round_trip_gives_t5x_arrays_bit_for_bit(converted, tmp_path):
    layout, out, _ = converted
    info = to_t5x(out, str(tmp_path), step=META["train_steps"])
    original, back = T5XCheckpoint(os.path.join(FIXTURE, layout)), T5XCheckpoint(info["checkpoint"])
    assert back.layout.startswith("legacy") and back.names() == original.names()
    for name in original.names():
        a, b = original.read(name), back.read(name)
        assert a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b), name


def test_streaming_in_small_blocks_writes_the_same_file(tmp_path):
    whole, blocks = tmp_path / "whole", tmp_path / "blocks"
    to_hf(os.path.join(FIXTURE, "legacy"), str(whole), vocab=SPM)
    to_hf(os.path.join(FIXTURE, "legacy"), str(blocks), vocab=SPM, block_bytes=512)
    assert (whole / "model.safetensors").read_bytes() == (blocks / "model.safetensors").read_bytes()


def test_bfloat16_output(tmp_path):
    from safetensors import safe_open

    to_hf(os.path.join(FIXTURE, "orbax"), str(tmp_path), dtype="bfloat16", vocab=SPM)
    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        emb = f.get_tensor("shared.weight")
    assert emb.dtype == torch.bfloat16
    want = T5XCheckpoint(os.path.join(FIXTURE, "orbax")).read("token_embedder/embedding")
    np.testing.assert_array_equal(emb.float().numpy(), torch.tensor(want).bfloat16().float().numpy())
    assert _model(str(tmp_path)).dtype == torch.bfloat16
    back = T5XCheckpoint(to_t5x(str(tmp_path), str(tmp_path / "t5x"), step=1)["checkpoint"])
    np.testing.assert_array_equal(back.read("token_embedder/embedding"), emb.float().numpy())


def test_hub_id_offline_says_how_to_get_the_model(tmp_path, no_network, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match=r"'bigscience/mt0-base'.*--local-dir DIR"):
        to_t5x("bigscience/mt0-base", str(tmp_path))


def test_model_size_table_gives_mt5_shapes():
    from multilingual_t0.convert.architecture import from_size

    xxl = from_size("xxl")
    assert (xxl.emb_dim, xxl.num_heads, xxl.num_encoder_layers, xxl.head_dim, xxl.mlp_dim, xxl.vocab_size) == (
        4096, 64, 24, 64, 10240, 250112)
    assert from_size("small").hf_config()["feed_forward_proj"] == "gated-gelu"


def test_missing_checkpoint_names_the_path(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="does not exist.*MODEL_DIR"):
        to_hf(str(tmp_path / "nowhere"), str(tmp_path / "out"))
    (tmp_path / "run" / "checkpoint_5").mkdir(parents=True)  # a save that never finished
    with pytest.raises(CheckpointNotFoundError, match=r"found checkpoint_5 without either"):
        to_hf(str(tmp_path / "run"), str(tmp_path / "out"))


def test_unknown_and_wrong_model_size(tmp_path):
    with pytest.raises(UnknownNameError, match="Did you mean: small"):
        to_hf(os.path.join(FIXTURE, "legacy"), str(tmp_path), model_size="smal")
    with pytest.raises(ValueError, match=r"token_embedder/embedding has shape \(1024, 32\).*--model-size"):
        to_hf(os.path.join(FIXTURE, "legacy"), str(tmp_path), model_size="small")


def test_missing_config_gin_asks_for_model_size(tmp_path):
    step = f"checkpoint_{META['train_steps']}"
    shutil.copytree(os.path.join(FIXTURE, "legacy", step), tmp_path / step)
    with pytest.raises(FileNotFoundError, match="No config.gin.*--model-size"):
        to_hf(str(tmp_path), str(tmp_path / "out"), vocab=SPM)


def test_to_t5x_rejects_a_directory_without_weights(tmp_path):
    transformers.MT5Config().save_pretrained(str(tmp_path))
    with pytest.raises(FileNotFoundError, match="No model.safetensors"):
        to_t5x(str(tmp_path), str(tmp_path / "out"))


def test_cli_round_trip_and_errors(tmp_path, capsys):
    hf, t5x = str(tmp_path / "hf"), str(tmp_path / "t5x")
    assert cli_main(["convert", "to-hf", os.path.join(FIXTURE, "orbax"), "--out", hf, "--vocab", SPM]) == 0
    assert json.loads(capsys.readouterr().out)["parameters"] == 115_328
    assert cli_main(["convert", "to-t5x", hf, "--out", t5x, "--step", "8"]) == 0
    assert "INITIAL_CHECKPOINT_PATH" in capsys.readouterr().err
    assert os.path.exists(os.path.join(t5x, "checkpoint_8", "checkpoint"))
    assert cli_main(["convert", "to-hf", str(tmp_path / "missing"), "--out", hf]) == 1
    assert "missing" in capsys.readouterr().err
    assert cli_main(["convert", "to-hf", os.path.join(FIXTURE, "orbax"), "--out", hf, "--model-size", "huge"]) == 2


def test_tied_output_head_is_refused(tmp_path):
    import msgpack

    from multilingual_t0.convert.t5x_checkpoint import _ext_hook
    from multilingual_t0.convert.to_t5x import _msgpack_tree

    step = f"checkpoint_{META['train_steps']}"
    shutil.copytree(os.path.join(FIXTURE, "legacy"), tmp_path / "run")
    index = tmp_path / "run" / step / "checkpoint"
    tree = msgpack.unpackb(index.read_bytes(), ext_hook=_ext_hook, raw=False, strict_map_key=False)
    del tree["optimizer"]["target"]["decoder"]["logits_dense"]  # as a logits_via_embedding=True model
    index.write_bytes(_msgpack_tree(tree))
    with pytest.raises(ValueError, match="tied output head"):
        to_hf(str(tmp_path / "run"), str(tmp_path / "out"), vocab=SPM)
