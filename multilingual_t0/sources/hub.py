"""The Hugging Face Hub: one streaming load for every family, and failing fast when the Hub is unreachable.

Offline, `datasets.load_dataset(..., streaming=True)` retries for about 25 seconds before it gives up.
One HTTP request with a short timeout to the Hub's endpoint ($HF_ENDPOINT, proxies honoured) tells the
same thing at once; the answer is kept for the process, so a mixture of many tasks asks only once.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any, Mapping, Optional, Union

from multilingual_t0.errors import DataNotFoundError

DEFAULT_ENDPOINT = "https://huggingface.co"
PROBE_TIMEOUT_S = 4.0
OFFLINE_ENVS = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")


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
    if os.path.isdir(hub_id) or any(os.environ.get(v, "").lower() in ("1", "true", "yes") for v in OFFLINE_ENVS):
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
    """One `datasets.load_dataset(..., streaming=True)` call: a repository with a config, or the `json`
    builder over explicit `data_files` (repositories that hold a loading script, which datasets >= 4 refuses)."""

    repo: str  # the Hub repository (probed, named in messages)
    path: Optional[str] = None  # load_dataset's path: the repo itself unless a builder (`json`) is named
    name: Optional[str] = None
    data_files: Optional[Union[str, Mapping[str, str]]] = None
    split: str = "train"
    revision: Optional[str] = None

    @property
    def origin(self) -> str:
        if self.data_files is not None:
            return self.data_files if isinstance(self.data_files, str) else f"hf://datasets/{self.repo}"
        return f"hf://{self.repo}" + (f"/{self.name}" if self.name else "")

    def describe(self) -> str:
        if self.path and self.path != self.repo:
            return (f"datasets.load_dataset({self.path!r}, data_files={self.data_files!r}, split={self.split!r}, "
                    "streaming=True)")
        extra = f", data_files={self.data_files!r}" if self.data_files is not None else ""
        return (f"datasets.load_dataset({self.repo!r}, name={self.name!r}{extra}, split={self.split!r}, "
                f"revision={self.revision!r}, streaming=True)")


def open_stream(call: HubCall, what: str, fix: str) -> Any:
    """The streaming dataset of `call`; DataNotFoundError naming the call (and `fix`) when it fails."""
    require_hub(what, call.repo)  # seconds, not datasets' ~25 s of retries, when offline
    import datasets  # heavy; only when the Hub is used

    kwargs = {"data_files": call.data_files} if call.data_files is not None else {}
    if call.path and call.path != call.repo:  # a builder over data files (`json`): no config, no revision
        args = dict(kwargs, split=call.split, streaming=True)
    else:
        args = dict(name=call.name, **kwargs, split=call.split, revision=call.revision, streaming=True)
    try:
        return datasets.load_dataset(call.path or call.repo, **args)
    except Exception as err:  # datasets raises many types for "not reachable / not found"
        raise DataNotFoundError(what, [call.describe(), f"failed with {type(err).__name__}: {err}"], fix) from err
