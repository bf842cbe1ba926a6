"""Every `MT0_*` setting in one place: its name, default, allowed values and validation.

Readers, the CLI, the launcher, the job-settings guard and the demo all go through `DataSettings`;
no other module spells an `MT0_*` name. Environment variables stay the transport: T5X processes, Beam
workers and tf.data threads read `DataSettings.from_env()` when a dataset is built (never at import).

A launched Beam job on a remote runner writes the data settings into the package it ships
(`data/job_settings.json`, see jobs/job_settings.py); `adopt_job_settings()` (on import of the tasks) and
`check_job_settings()` (when a dataset is built) make every worker use the launcher's values or stop.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Dict, Mapping, Optional, Tuple

MT5_VOCAB = "gs://t5-data/vocabs/mc4.250000.100extra/sentencepiece.model"
SOURCE_KINDS = ("auto", "mirror", "hub", "samples", "tfds")
INPUT_BOUNDARIES = ("batched", "per_example")
MIXTURE_FEEDS = ("fused", "per_task")
DEFAULT_MC4_VERSION = "3.1.0"  # what current TFDS registers; mT5 itself used 3.0.1
DEFAULT_SHUFFLE_BUFFER = 10_000
# How a yes/no setting may be spelled (any case, surrounding spaces ignored); empty or unset is its default.
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


@dataclasses.dataclass(frozen=True)
class Setting:
    env: str  # the environment variable
    field: str  # the DataSettings field
    help: str  # one line, for messages, the launcher and docs


SETTINGS: Tuple[Setting, ...] = (
    Setting("MT0_VOCAB", "vocab", "SentencePiece model for tasks AND model (default: mT5's on gs://t5-data)"),
    Setting("MT0_DATA_SOURCE", "source",
            "where records are read: auto (mirror if MT0_DATA_DIR is set, else each family's published copy) | "
            "mirror | hub | samples | tfds"),
    Setting("MT0_DATA_DIR", "data_dir", "the mirror: a local directory or gs:// prefix"),
    Setting("MT0_MC4_VERSION", "mc4_version", f"TFDS c4/multilingual version (default {DEFAULT_MC4_VERSION})"),
    Setting("MT0_STRICT", "strict", "1 (or true, yes, on): a record a template cannot render raises BadRecordError; "
            "0 (false, no, off; default): it is skipped and counted"),
    Setting("MT0_SHUFFLE_BUFFER", "shuffle_buffer",
            f"records each task holds while reading shuffled (default {DEFAULT_SHUFFLE_BUFFER:,})"),
    Setting("MT0_INPUT_BOUNDARY", "input_boundary", "batched (default) | per_example"),
    Setting("MT0_MIXTURE_FEED", "mixture_feed", "fused (default) | per_task"),
)
BY_ENV: Dict[str, Setting] = {s.env: s for s in SETTINGS}
# The settings that change what a task yields (vocabulary, records, documents): a Beam job's workers
# must share them with the launcher.
JOB_SETTINGS = ("MT0_VOCAB", "MT0_DATA_SOURCE", "MT0_DATA_DIR", "MT0_MC4_VERSION")
PATH_SETTINGS = ("MT0_VOCAB", "MT0_DATA_DIR")  # paths every worker of a job must be able to read
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
JOB_SETTINGS_FILE = "job_settings.json"


class JobSettingsMismatchError(RuntimeError):
    """This process's MT0_* settings differ from those the job was launched with."""


def _choice(env: str, value: str, choices: Tuple[str, ...]) -> str:
    value = (value or "").strip().lower() or choices[0]
    if value not in choices:
        raise ValueError(f"{env}={value!r} is not one of {', '.join(choices)}; unset it for the default "
                         f"({choices[0]}).")
    return value


def _flag(env: str, value: str, default: bool) -> bool:
    text = (value or "").strip().lower()
    if not text:
        return default
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"{env}={value!r} is not on or off: on is {' / '.join(TRUE_WORDS)}, off is "
                     f"{' / '.join(FALSE_WORDS)} (any case); unset it for the default ({'on' if default else 'off'}).")


def _positive(env: str, value: str, default: int) -> int:
    text = (value or "").strip().replace("_", "")
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{env}={value!r} is not a positive number of records; unset it for the default "
                         f"({default:,}).")
    return int(text)


@dataclasses.dataclass(frozen=True)
class DataSettings:
    """The data settings of one process (validated). `source` is as set: `auto` is resolved per family by
    `resolved_source`, since a family's published copy differs (the Hub; TFDS for mC4)."""

    vocab: str = MT5_VOCAB
    source: str = "auto"
    data_dir: Optional[str] = None
    mc4_version: str = DEFAULT_MC4_VERSION
    strict: bool = False
    shuffle_buffer: int = DEFAULT_SHUFFLE_BUFFER
    input_boundary: str = "batched"
    mixture_feed: str = "fused"

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "DataSettings":
        """The settings of `env` (default os.environ); a bad value raises ValueError naming the variable."""
        env = os.environ if env is None else env
        get = lambda name: env.get(name) or ""  # noqa: E731
        return cls(
            vocab=get("MT0_VOCAB") or MT5_VOCAB,
            source=_choice("MT0_DATA_SOURCE", get("MT0_DATA_SOURCE"), SOURCE_KINDS),
            data_dir=get("MT0_DATA_DIR") or None,
            mc4_version=get("MT0_MC4_VERSION") or DEFAULT_MC4_VERSION,
            strict=_flag("MT0_STRICT", get("MT0_STRICT"), False),
            shuffle_buffer=_positive("MT0_SHUFFLE_BUFFER", get("MT0_SHUFFLE_BUFFER"), DEFAULT_SHUFFLE_BUFFER),
            input_boundary=_choice("MT0_INPUT_BOUNDARY", get("MT0_INPUT_BOUNDARY"), INPUT_BOUNDARIES),
            mixture_feed=_choice("MT0_MIXTURE_FEED", get("MT0_MIXTURE_FEED"), MIXTURE_FEEDS),
        )

    def to_env(self) -> Dict[str, str]:
        """The MT0_* variables that carry these settings to other processes (defaults left out)."""
        default = DataSettings()
        out = {}
        for s in SETTINGS:
            value = getattr(self, s.field)
            if value != getattr(default, s.field) and value is not None:
                out[s.env] = ("1" if value else "0") if isinstance(value, bool) else str(value)
        return out

    def replace(self, **changes) -> "DataSettings":
        """A copy with `changes`, validated as from_env validates (the environment form round-trips)."""
        return DataSettings.from_env(dataclasses.replace(self, **changes).to_env())

    def export(self) -> None:
        """Makes these the settings of this process and of the processes it starts (os.environ)."""
        for s in SETTINGS:
            os.environ.pop(s.env, None)
        os.environ.update(self.to_env())

    def resolved_source(self, published: str = "hub") -> str:
        """mirror | hub | samples | tfds: `auto` is the mirror when a data dir is set, else `published`
        (the family's published copy: the Hub, or TFDS for mC4)."""
        if self.source == "auto":
            return "mirror" if self.data_dir else published
        return self.source


def current() -> DataSettings:
    """`DataSettings.from_env()`: the settings in force now (read when data is built)."""
    return DataSettings.from_env()


def describe(env: str) -> str:
    """The one-line help of an MT0_* variable (for the launcher's and the CLI's messages)."""
    return BY_ENV[env].help


# ------------------------------------------------------------ settings baked into a launched job


def job_settings_path(package_dir: str = PACKAGE_DIR) -> str:
    return os.path.join(package_dir, "data", JOB_SETTINGS_FILE)


def job_values(env: Optional[Mapping[str, str]] = None) -> Dict[str, Optional[str]]:
    """The job settings of `env` (default os.environ); unset ones as None (unset must match too)."""
    env = os.environ if env is None else env
    return {name: (env.get(name) or None) for name in JOB_SETTINGS}


def baked(package_dir: str = PACKAGE_DIR) -> Optional[Dict[str, Optional[str]]]:
    """The settings the running job was launched with, or None outside such a job."""
    path = job_settings_path(package_dir)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)["settings"]


def _raise_mismatch(diff: Mapping[str, tuple], package_dir: str) -> None:
    lines = [f"  {k}: launcher {a!r}, this worker {b!r}" for k, (a, b) in sorted(diff.items())]
    raise JobSettingsMismatchError(
        "This process's data settings differ from the launcher's (from "
        f"{job_settings_path(package_dir)}):\n" + "\n".join(lines) +
        "\nIt would produce other data than the job was started with. Unset them on the worker (it then "
        "takes the launcher's) or relaunch the job with the values you want.")


def adopt_job_settings(package_dir: str = PACKAGE_DIR) -> None:
    """On import of the tasks: take the launcher's settings where this process has none; stop on a
    difference. Outside a launched job (no settings file) nothing happens."""
    launcher = baked(package_dir)
    if launcher is None:
        return
    here = job_values()
    diff = {k: (v, here[k]) for k, v in launcher.items() if k in here and here[k] is not None and here[k] != v}
    if diff:
        _raise_mismatch(diff, package_dir)
    for name, value in launcher.items():
        if value is not None and not os.environ.get(name):
            os.environ[name] = value


def check_job_settings(package_dir: str = PACKAGE_DIR) -> None:
    """When a dataset is built: the settings still equal the launcher's (nothing changed them since)."""
    launcher = baked(package_dir)
    if launcher is None:
        return
    here = job_values()
    diff = {k: (v, here[k]) for k, v in launcher.items() if k in here and here[k] != v}
    if diff:
        _raise_mismatch(diff, package_dir)
