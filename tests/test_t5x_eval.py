"""Rank classification with real T5X (skipped where T5X is not importable): scripts/eval.sh with
configs/runs/eval_score.gin scores COPA's long sample choice whole, the score T5X gives it is the summed
log-likelihood of all its tokens and its EOS (recomputed with the checkpoint converted to transformers), the
metrics carry the records each accuracy stands on, and lengths that would cut the choice stop the run before
the model loads."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
T5X = importlib.util.find_spec("t5x")
pytestmark = pytest.mark.skipif(T5X is None, reason="T5X is not importable (not on PyPI; clone "
                                                    "github.com/google-research/t5x to run this)")
FIXTURE = os.path.join(REPO, "tests", "fixtures", "t5x_tiny_mt5")
# The fixture's network (tests/fixtures/make_t5x_fixture.py DIMS), in float32.
TINY = ("from __gin__ import dynamic_registration\nfrom t5x.examples.t5 import network\n"
        "network.T5Config:\n  vocab_size = 1024\n  emb_dim = 32\n  num_heads = 4\n  num_encoder_layers = 2\n"
        "  num_decoder_layers = 2\n  head_dim = 8\n  mlp_dim = 64\n  dtype = 'float32'\n")
TASK = "super_glue_copa_best_option_score_eval"
LONG = [4, 0]  # COPA's sample validation record 4, choice 0: 456 tokens of the fixture's vocabulary + EOS


def _eval(tmp_path, name, *overrides):
    """scripts/eval.sh on the fixture checkpoint and the sample data; (return code, log, EVAL_OUTPUT_DIR)."""
    (tmp_path / "tiny.gin").write_text(TINY)
    out = tmp_path / name
    env = {**os.environ, "PYTHON": sys.executable, "T5X_DIR": os.path.dirname(os.path.dirname(T5X.origin)),
           "MODEL_SIZE": "small", "JAX_PLATFORMS": "cpu", "MT0_DATA_SOURCE": "samples",
           "MT0_VOCAB": os.path.join(FIXTURE, "spm.model"),
           "CHECKPOINT_PATH": os.path.join(FIXTURE, "orbax", "checkpoint_8"), "EVAL_OUTPUT_DIR": str(out)}
    argv = [os.path.join(REPO, "scripts", "eval.sh"), f"--gin_file={tmp_path / 'tiny.gin'}",
            "--gin_file=configs/runs/eval_score_float32.gin", f"MIXTURE_OR_TASK_NAME='{TASK}'",
            "utils.DatasetConfig.batch_size=4", *overrides]
    run = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900)
    return run.returncode, run.stdout, out


def test_eval_scores_the_long_choice_whole_and_counts_records(tmp_path):
    import numpy as np
    import sentencepiece as spm
    import torch
    import transformers

    from multilingual_t0.convert import to_hf

    code, log, out = _eval(tmp_path, "eval")
    assert code == 0, log[-4000:]
    logs = out / "inference_eval"
    metrics = [json.loads(line) for line in open(logs / f"{TASK}-metrics.jsonl")]
    assert (metrics[-1]["step"], metrics[-1]["records_scored"], metrics[-1]["records_answer_repeated"]) == (8, 6, 1)
    rows = [json.loads(line) for line in open(logs / f"{TASK}-000008.jsonl")]
    long = next(r for r in rows if r["target"][0] == LONG)
    assert long["target"][3] == 457  # scored tokens: the whole choice and its EOS

    # The same scores from the checkpoint converted to transformers: summed log-softmax of every target token.
    hf = tmp_path / "hf"
    to_hf(os.path.join(FIXTURE, "orbax"), str(hf), vocab=os.path.join(FIXTURE, "spm.model"))
    model = transformers.AutoModelForSeq2SeqLM.from_pretrained(str(hf)).eval()
    sp = spm.SentencePieceProcessor(model_file=os.path.join(FIXTURE, "spm.model"))
    for row in (long, rows[0]):
        inputs = sp.encode(row["input"]["inputs_pretokenized"])
        targets = sp.encode(row["input"]["targets_pretokenized"]) + [1]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([inputs]), decoder_input_ids=torch.tensor([[0] + targets[:-1]])).logits
        log_probs = torch.log_softmax(logits[0].double(), -1)[np.arange(len(targets)), targets]
        assert row["score"] == pytest.approx(float(log_probs.sum()), abs=1e-3), row["target"]

    from multilingual_t0.evaluation import report

    result = report.build_report(str(out))
    assert [(p.task, p.records, p.records_answer_repeated) for p in result.prompts] == [(TASK, 6, 1)]


def test_lengths_that_would_cut_the_choice_stop_before_the_model_loads(tmp_path):
    code, log, out = _eval(tmp_path, "cut", "TASK_FEATURE_LENGTHS={'inputs': 1024, 'targets': 256}")
    assert code != 0
    assert (f"Task {TASK}, example 4, answer choice 0: 457 tokens with EOS, longer than the targets length 256"
            in log), log[-4000:]
    assert "give targets a length of at least 457." in log
    assert not (out / "model-info.txt").exists()  # T5X writes it once the model is set up
    assert not (out / "inference_eval" / f"{TASK}-metrics.jsonl").exists()
