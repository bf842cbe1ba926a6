"""Fail fast when the Hugging Face Hub cannot be reached.

Offline, `datasets.load_dataset(..., streaming=True)` retries for about 25 seconds before it gives up.
One HTTP request with a short timeout to the Hub's endpoint ($HF_ENDPOINT, proxies honoured) tells the
same thing at once; the answer is kept for the process, so a mixture of many tasks asks only once.
"""

from __future__ import annotations

import functools
import os
from typing import Optional

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
