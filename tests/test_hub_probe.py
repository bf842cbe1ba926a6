"""hub_probe: an unreachable Hub fails at once with a hint to `--source samples`, before `datasets`
starts its retries; a reachable one is asked once per process; local paths and offline mode skip it."""

import http.server
import socket
import threading

import pytest

from multilingual_t0 import settings
from multilingual_t0.catalog.datasets import find_dataset
from multilingual_t0.sources import hub as hub_probe
from multilingual_t0.sources.layouts import catalog_split
from multilingual_t0.sources.located import locate
from multilingual_t0.errors import DataNotFoundError


@pytest.fixture
def online(monkeypatch):
    """The Hub libraries' offline switches off (conftest sets them) and a fresh probe cache."""
    for name in hub_probe.OFFLINE_ENVS:
        monkeypatch.delenv(name, raising=False)
    hub_probe._probe.cache_clear()
    yield monkeypatch
    hub_probe._probe.cache_clear()


@pytest.fixture
def closed_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there: connection refused


@pytest.fixture
def answering_endpoint():
    requests_seen = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):
            requests_seen.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests_seen
    server.shutdown()
    server.server_close()


def _refuse_datasets(monkeypatch):
    import datasets

    def refuse(*args, **kwargs):
        raise AssertionError("datasets.load_dataset was called although the Hub is unreachable")

    monkeypatch.setattr(datasets, "load_dataset", refuse)


def test_unreachable_hub_fails_before_datasets_retries(online, closed_endpoint):
    online.setenv("HF_ENDPOINT", closed_endpoint)
    _refuse_datasets(online)
    spec = find_dataset("super_glue", "rte")[0]
    with pytest.raises(DataNotFoundError) as err:
        locate(catalog_split(spec, spec.split("train")), settings.current().replace(source="hub"))
    message = str(err.value)
    assert f"{spec.hub_id} on {closed_endpoint}: no answer within 4 s (ConnectionError" in message
    assert "--source samples" in message and "super_glue/rte split 'train'" in message


def test_reachable_hub_is_asked_once(online, answering_endpoint):
    endpoint, seen = answering_endpoint
    online.setenv("HF_ENDPOINT", endpoint)
    hub_probe.require_hub("super_glue/rte split 'train'", "aps/super_glue")
    hub_probe.require_hub("super_glue/cb split 'train'", "aps/super_glue")
    assert seen == ["/"]


def test_local_dataset_path_and_offline_mode_skip_the_probe(online, closed_endpoint, tmp_path):
    online.setenv("HF_ENDPOINT", closed_endpoint)
    hub_probe.require_hub("a local copy", str(tmp_path))
    online.setenv("HF_HUB_OFFLINE", "1")
    hub_probe.require_hub("offline mode", "aps/super_glue")
    assert hub_probe._probe.cache_info().currsize == 0


OFFLINE_SPELLINGS = [({"HF_HUB_OFFLINE": v}, True) for v in ("1", "ON", "on", "Yes", "true")] + [
    ({"HF_HUB_OFFLINE": v}, False) for v in ("0", "off", "False", "no", "")] + [
    ({"HF_DATASETS_OFFLINE": "On"}, True), ({"TRANSFORMERS_OFFLINE": "1"}, True),
    ({"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "0"}, False)]  # datasets' own variable wins, set either way


@pytest.mark.parametrize("env,offline", OFFLINE_SPELLINGS,
                         ids=[",".join(f"{k}={v}" for k, v in env.items()) for env, _ in OFFLINE_SPELLINGS])
def test_offline_mode_is_read_as_the_hub_libraries_spell_it(online, closed_endpoint, env, offline):
    """huggingface_hub and datasets take 1/ON/YES/TRUE in any case as true; in their offline mode the probe is
    skipped, otherwise an unreachable endpoint is named at once."""
    online.setenv("HF_ENDPOINT", closed_endpoint)
    for name, value in env.items():
        online.setenv(name, value)
    if offline:
        hub_probe.require_hub("offline mode", "aps/super_glue")
        assert hub_probe._probe.cache_info().currsize == 0
    else:
        with pytest.raises(DataNotFoundError, match="no answer within"):
            hub_probe.require_hub("online", "aps/super_glue")


def test_mt0_show_without_the_hub_suggests_samples(online, closed_endpoint, capsys, registered):
    from multilingual_t0.cli import main

    online.setenv("HF_ENDPOINT", closed_endpoint)
    online.setenv("MT0_DATA_SOURCE", "samples")  # main() sets it from --source; restored after the test
    _refuse_datasets(online)
    assert main(["show", "super_glue_rte_GPT_3_style", "--source", "hub", "-n", "1"]) == 1
    err = capsys.readouterr().err
    assert "mt0 show: No data for super_glue/rte" in err and "--source samples" in err
    # ... and what it suggests works offline.
    assert main(["show", "super_glue_rte_GPT_3_style", "--source", "samples", "-n", "1"]) == 0


def test_unreachable_hub_fails_fast_for_xp3_too(online, closed_endpoint, registered):
    """xP3 reads the Hub through datasets' json builder, not the catalog layout: it probes the same way."""
    import seqio

    online.setenv("HF_ENDPOINT", closed_endpoint)
    online.setenv("MT0_DATA_SOURCE", "hub")
    _refuse_datasets(online)
    with pytest.raises(DataNotFoundError) as err:
        seqio.get_mixture_or_task("xp3.sw").source.iter_examples("train")
    assert "bigscience/xP3 on" in str(err.value) and "--source samples" in str(err.value)
