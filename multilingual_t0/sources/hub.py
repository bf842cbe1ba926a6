"""The Hugging Face Hub: one streaming load for every family, and failing fast when the Hub is unreachable.

Offline, `datasets.load_dataset(..., streaming=True)` retries for about 25 seconds before it gives up.
One HTTP request with a short timeout to the Hub's endpoint ($HF_ENDPOINT, proxies honoured) tells the
same thing at once; the answer is kept for the process, so a mixture of many tasks asks only once.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, List, Mapping, Optional, Tuple, Union

from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.sources import fileio

DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 4.0
OFFLINE_ENVS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
# True as huggingface_hub and datasets spell it (their ENV_VARS_TRUE_VALUES, compared upper-cased, unstripped).
HF_TRUE_VALUES = ("1", "ON", "YES", "TRUE")


def datasets_offline() -> bool:
    """Whether `datasets` is in offline mode, by its rule (datasets/config.py): HF_DATASETS_OFFLINE when set,
    else huggingface_hub's (HF_HUB_OFFLINE, else TRANSFORMERS_OFFLINE); any other value is off, as there."""
    value = os.environ.get("HF_DATASETS_OFFLINE")
    if value is None:
        value = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return value.upper() in HF_TRUE_VALUES


def hub_endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


@functools.lru_cache(maxsize=None)
def _probe(endpoint: str, timeout: float) -> Optional[str]:
    """None when the endpoint answers (any HTTP status), else why not."""
    import requests  # a dependency of datasets and huggingface_hub; honours HTTPS_PROXY and CA settings

    try:
        requests.head(endpoint, timeout=timeout, allow_redirects=False)
    except requests.RequestException as err:
        return f"{type(err).__name__}: {err}"
    return None


def require_hub(what: str, hub_id: str) -> None:
    """Raises DataNotFoundError, suggesting `--source samples`, if the Hub does not answer quickly.

    Skipped for a local dataset path (the Hub is not involved) and in the Hub libraries' offline mode
    (they fail at once there, with their own message)."""
    if os.path.isdir(hub_id) or datasets_offline():
        return
    endpoint = hub_endpoint()
    problem = _probe(endpoint, PROBE_TIMEOUT_S)
    if problem:
        raise DataNotFoundError(
            what, [f"{hub_id} on {endpoint}: no answer within {PROBE_TIMEOUT_S:g} s ({problem})"],
            "the Hugging Face Hub is not reachable from here. Try the embedded sample records with "
            "`--source samples` (MT0_DATA_SOURCE=samples), or a local mirror: `mt0 download` on a machine "
            "that reaches the Hub, then `--source mirror --data-dir DIR`")


@dataclasses.dataclass(frozen=True)
class HubCall:
    """One `datasets.load_dataset(..., streaming=True)` call for a Hub repository: by config (`name`), by
    folder (`data_dir`) or by files (`data_files`, patterns relative to the repository), at a `revision`.

    `builder` ("json") reads explicit files of a repository that holds a loading script (which datasets >= 4
    refuses): the files are then named `hf://datasets/<repo>/<pattern>`. `snapshot_dir` reads the same layout
    from a local copy of the repository, `<snapshot_dir>/<repo>` (as `huggingface-cli download --local-dir`
    writes it): the same `datasets` code path infers configs and splits for a directory as for the Hub."""

    repo: str
    builder: Optional[str] = None
    name: Optional[str] = None
    data_dir: Optional[str] = None
    data_files: Optional[Union[str, Mapping[str, str]]] = None
    split: str = "train"
    revision: Optional[str] = None
    snapshot_dir: Optional[str] = None

    @property
    def root(self) -> str:
        """The repository: on the Hub (`hf://datasets/<repo>`) or in the local snapshot."""
        if self.snapshot_dir:
            return os.path.join(self.snapshot_dir, self.repo)
        return f"hf://datasets/{self.repo}"

    def _files(self):
        if self.builder is None or self.data_files is None:
            return self.data_files
        if isinstance(self.data_files, str):
            return f"{self.root}/{self.data_files}"
        return {k: f"{self.root}/{v}" for k, v in self.data_files.items()}

    def load_args(self) -> Tuple[str, dict]:
        """(path, keyword arguments) for `datasets.load_dataset`."""
        kwargs: dict = {}
        if self.builder is None:
            path = os.path.join(self.snapshot_dir, self.repo) if self.snapshot_dir else self.repo
            kwargs["name"] = self.name
            if self.data_dir:
                kwargs["data_dir"] = self.data_dir
        else:
            path = self.builder
        if self.data_files is not None:
            kwargs["data_files"] = self._files()
        kwargs["split"] = self.split
        if self.builder is None and not self.snapshot_dir:
            kwargs["revision"] = self.revision
        kwargs["streaming"] = True
        return path, kwargs

    @property
    def origin(self) -> str:
        if self.builder is not None and isinstance(self.data_files, str):
            return self._files()
        where = self.root if self.snapshot_dir else f"hf://{self.repo}"
        return where + "".join(f"/{part}" for part in (self.name, self.data_dir) if part)

    def describe(self) -> str:
        path, kwargs = self.load_args()
        return f"datasets.load_dataset({path!r}, " + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"


def find_files(call: HubCall, what: str, fix: str) -> List[str]:
    """The repository files `call.data_files` names (patterns for its split), as paths the package's reader
    opens: `hf://datasets/<repo>@<revision>/...` through huggingface_hub's fsspec filesystem (a token and
    $HF_ENDPOINT as huggingface_hub takes them), or inside the local snapshot. DataNotFoundError when none."""
    patterns = call.data_files
    if isinstance(patterns, Mapping):
        patterns = patterns.get(call.split)
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns:
        raise ValueError(f"{what}: the Hub copy names no files for split {call.split!r}")
    if call.snapshot_dir:
        root = os.path.join(call.snapshot_dir, call.repo)
    else:
        require_hub(what, call.repo)  # seconds, not retries, when offline
        root = f"hf://datasets/{call.repo}" + (f"@{call.revision}" if call.revision else "")
    tried = [f"{root}/{pattern}" for pattern in patterns]
    try:
        found = sorted({path for pattern in tried for path in fileio.glob(pattern)})
    except Exception as err:  # huggingface_hub raises per HTTP failure
        raise DataNotFoundError(what, tried + [f"failed with {type(err).__name__}: {err}"], fix) from err
    if not found:
        raise DataNotFoundError(what, [f"{t} (no file)" for t in tried], fix)
    return found


def open_stream(call: HubCall, what: str, fix: str) -> Any:
    """The streaming dataset of `call`; DataNotFoundError naming the call (and `fix`) when it fails."""
    if not call.snapshot_dir:
        require_hub(what, call.repo)  # seconds, not datasets' ~25 s of retries, when offline
    import datasets  # heavy; only when the Hub is used

    path, kwargs = call.load_args()
    try:
        return datasets.load_dataset(path, **kwargs)
    except Exception as err:  # datasets raises many types for "not reachable / not found"
        raise DataNotFoundError(what, [call.describe(), f"failed with {type(err).__name__}: {err}"], fix) from err
