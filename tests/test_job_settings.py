"""Settings travel with a job: a Beam worker (a separate process without the MT0_* variables) caches
with the launcher's vocabulary and data source, and a worker whose settings differ stops loudly."""

import glob
import json
import os
import shutil
import subprocess

import pytest

from multilingual_t0 import settings
from multilingual_t0.jobs import job_settings
from multilingual_t0.jobs import launch

TASK = "super_glue_rte_GPT_3_style"
MARK = "launcher-mirror"


def _installed_copy(tmp_path):
    """What a worker installs: a copy of the package (Dataflow installs it from --setup_file)."""
    root = tmp_path / "worker_site"
    shutil.copytree(os.path.join(launch.REPO_DIR, "multilingual_t0"), root / "multilingual_t0",
                    ignore=shutil.ignore_patterns("__pycache__", settings.JOB_SETTINGS_FILE))
    return root


def _worker_env(site, **extra):
    env = {k: v for k, v in os.environ.items() if k not in settings.JOB_SETTINGS}
    return {**env, "PYTHONPATH": str(site), **extra}


def test_apply_takes_the_launchers_settings_and_refuses_other_ones(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    launcher = {"MT0_VOCAB": "gs://b/spm.model", "MT0_DATA_SOURCE": "mirror", "MT0_DATA_DIR": "gs://b/mirror"}
    with job_settings.baked_for_job(launcher, package_dir=str(tmp_path)) as path:
        assert json.load(open(path))["settings"] == {**launcher, "MT0_MC4_VERSION": None}
        for name in settings.JOB_SETTINGS:
            monkeypatch.delenv(name, raising=False)
        settings.adopt_job_settings(str(tmp_path))
        assert {k: os.environ.get(k) for k in launcher} == launcher
        settings.check_job_settings(str(tmp_path))
        monkeypatch.setenv("MT0_MC4_VERSION", "3.0.1")  # unset on the launcher: must stay unset
        with pytest.raises(settings.JobSettingsMismatchError, match="MT0_MC4_VERSION: launcher None"):
            settings.check_job_settings(str(tmp_path))
        monkeypatch.delenv("MT0_MC4_VERSION")
        monkeypatch.setenv("MT0_DATA_DIR", "/local/mirror")
        with pytest.raises(settings.JobSettingsMismatchError, match="MT0_DATA_DIR: launcher 'gs://b/mirror'"):
            settings.adopt_job_settings(str(tmp_path))
    assert not os.path.exists(path)  # removed when the job ends


def test_dataflow_refuses_local_paths():
    dataflow = ["--pipeline_options=--runner=DataflowRunner,--project=p"]
    with pytest.raises(ValueError, match="MT0_DATA_DIR='/data/mirror' is a local path"):
        job_settings.check_reachable({"MT0_DATA_DIR": "/data/mirror"}, dataflow)
    job_settings.check_reachable({"MT0_DATA_DIR": "gs://b/mirror"}, dataflow)
    job_settings.check_reachable({"MT0_DATA_DIR": "/data/mirror"}, ["--min_shards=1"])  # local runner


def _mirror(tmp_path):
    folder = tmp_path / "mirror" / "super_glue" / "rte"
    folder.mkdir(parents=True)
    for split in ("train", "validation", "test"):
        records = [{"premise": f"{MARK} {split} {i}", "hypothesis": "h", "idx": i, "label": i % 2} for i in range(3)]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(tmp_path / "mirror")


def _cache_command(out):
    (argv, _), = launch.commands("cache", {"CACHE_DIR": str(out), "TASKS": TASK}, ["--min_shards=1"])
    return argv


def test_beam_worker_without_the_variables_caches_the_launchers_data(tmp_path, vocab_path):
    pytest.importorskip("apache_beam", reason="apache-beam not installed (pip install -r requirements-cache.txt)")
    import tensorflow as tf

    from multilingual_t0.pipeline.vocab import _vocabulary

    site = _installed_copy(tmp_path)
    launcher = {"MT0_VOCAB": vocab_path, "MT0_DATA_SOURCE": "mirror", "MT0_DATA_DIR": _mirror(tmp_path)}
    with job_settings.baked_for_job(launcher, package_dir=str(site / "multilingual_t0")):
        result = subprocess.run(_cache_command(tmp_path / "cache"), env=_worker_env(site), capture_output=True, cwd=str(tmp_path),
                                text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    files = glob.glob(str(tmp_path / "cache" / TASK / "validation.tfrecord*"))
    assert files
    examples = [tf.train.Example.FromString(r.numpy()) for r in tf.data.TFRecordDataset(files)]
    texts = [ex.features.feature["inputs_pretokenized"].bytes_list.value[0].decode() for ex in examples]
    assert len(texts) == 3 and all(f"{MARK} validation" in t for t in texts)  # the launcher's mirror
    vocabulary = _vocabulary(vocab_path)  # and its vocabulary
    for ex, text in zip(examples, texts):
        assert list(ex.features.feature["inputs"].int64_list.value) == vocabulary.encode(text)


def test_beam_worker_with_other_settings_stops(tmp_path, vocab_path):
    pytest.importorskip("apache_beam", reason="apache-beam not installed (pip install -r requirements-cache.txt)")
    site = _installed_copy(tmp_path)
    launcher = {"MT0_VOCAB": vocab_path, "MT0_DATA_SOURCE": "mirror", "MT0_DATA_DIR": _mirror(tmp_path)}
    with job_settings.baked_for_job(launcher, package_dir=str(site / "multilingual_t0")):
        result = subprocess.run(_cache_command(tmp_path / "cache"),
                                env=_worker_env(site, MT0_DATA_SOURCE="samples"), capture_output=True, cwd=str(tmp_path),
                                text=True, timeout=600)
    assert result.returncode != 0
    assert "JobSettingsMismatchError" in result.stderr and "MT0_DATA_SOURCE: launcher 'mirror', this worker 'samples'" \
        in result.stderr
    assert not glob.glob(str(tmp_path / "cache" / TASK / "*.tfrecord*"))


def test_only_remote_runners_bake_settings_into_the_package(tmp_path):
    """Local runners' workers inherit the environment: the shared checkout is left alone while they run
    (another process using it with other settings is not stopped); Dataflow's get the settings file."""
    local = ["--min_shards=2", "--pipeline_options=--runner=BundleBasedDirectRunner"]
    dataflow = ["--pipeline_options=--runner=DataflowRunner,--project=p,--region=r"]
    assert not job_settings.remote_runner(local) and not job_settings.remote_runner([])
    assert job_settings.remote_runner(dataflow)
    (tmp_path / "data").mkdir()
    package = str(tmp_path)  # a stand-in package folder: the real one is shared by parallel tests
    with job_settings.for_job(local, package_dir=package):
        assert settings.baked(package) is None
    with job_settings.for_job(dataflow, {"MT0_DATA_SOURCE": "mirror", "MT0_DATA_DIR": "gs://b/m"}, package):
        assert settings.baked(package)["MT0_DATA_DIR"] == "gs://b/m"
    assert settings.baked(package) is None
