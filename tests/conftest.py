"""Shared fixtures: a tiny SentencePiece vocabulary, the sample-data source, blocked network.

The vocabulary and data source are chosen through the package's own settings before any test imports
`multilingual_t0.tasks` (registration binds the vocabulary path).
"""

import dataclasses
import os
import socket
import tempfile
from typing import Any, Optional

import pytest

_VOCAB_DIR = tempfile.mkdtemp(prefix="mt0_test_vocab_")
os.environ["MT0_VOCAB"] = os.path.join(_VOCAB_DIR, "spm.model")
os.environ["MT0_DATA_SOURCE"] = "samples"
os.environ.pop("MT0_DATA_DIR", None)
os.environ.pop("MT0_STRICT", None)
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

from multilingual_t0.pipeline.sample_vocab import train_vocab  # noqa: E402

train_vocab(os.environ["MT0_VOCAB"])

TEST_LENGTHS = {"inputs": 256, "targets": 256}


@dataclasses.dataclass
class DatasetConfig:
    """The fields of T5X's utils.DatasetConfig that resumable.get_dataset reads (no T5X needed)."""

    mixture_or_task_name: Any
    task_feature_lengths: dict
    split: str = "train"
    batch_size: int = 8
    shuffle: bool = True
    seed: Optional[int] = 5
    use_cached: bool = False
    pack: bool = True
    use_custom_packing_ops: bool = False
    module: Optional[str] = None
    trim_output_features: bool = True
# What configs/runs/eval_score.gin gives T5X for rank classification: no fixed lengths, so seqio's evaluator
# pads to the eval set's own longest input and choice (a fixed length that would cut one is refused).
EVAL_LENGTHS = None


def assert_same_examples(a, b):
    """Two lists of numpy examples are equal: same length, features, dtypes and values, in order."""
    import numpy as np

    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for key in x:
            assert np.asarray(x[key]).dtype == np.asarray(y[key]).dtype, key
            np.testing.assert_array_equal(x[key], y[key], err_msg=key)


def write_fake_t5x_gins(root) -> str:
    """The T5X gin files eval.sh's stack includes, with what the tests read: eval.gin's required macros and its
    TASK_FEATURE_LENGTHS default, the mT5 gins' bfloat16. Returns the folder (a T5X_DIR for the launcher)."""
    from multilingual_t0.jobs import launch

    files = {"t5x/configs/runs/eval.gin": "MIXTURE_OR_TASK_NAME = %gin.REQUIRED\nCHECKPOINT_PATH = %gin.REQUIRED\n"
                                          "EVAL_OUTPUT_DIR = %gin.REQUIRED\nTASK_FEATURE_LENGTHS = None\n",
             "t5x/examples/t5/mt5/base.gin": "DROPOUT_RATE = %gin.REQUIRED\nnetwork.T5Config:\n"
                                             "  vocab_size = 250112\n  dtype = 'bfloat16'\n"}
    files.update({f"t5x/examples/t5/mt5/{s}.gin": "include 't5x/examples/t5/mt5/base.gin'\n"
                  for s in launch.MODEL_SIZES if s != "base"})
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
        with open(os.path.join(root, rel), "w") as f:
            f.write(text)
    return str(root)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test loudly."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args[1:] if len(args) > 1 else args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture
def registered():
    """The tasks module, imported (registers on first import)."""
    import multilingual_t0.tasks as tasks

    return tasks


@pytest.fixture
def vocab_path():
    return os.environ["MT0_VOCAB"]
