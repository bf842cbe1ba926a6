"""Hub ids that load under datasets >= 4, and `mt0 download` for every family, on reproduced repository layouts.

Nothing here reaches the Hub: each repository's file layout (as its published pages show it) is rebuilt as a
local directory, `<hub>/<owner>/<name>`, and read through the same `datasets.load_dataset` call the package
makes for the Hub (a HubCall with `snapshot_dir`): `datasets` infers configs and splits for a directory as it
does for a Hub repository.
"""

import gzip
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from multilingual_t0 import settings
from multilingual_t0.catalog.benchmarks import find_benchmark
from multilingual_t0.catalog.datasets import find_dataset
from multilingual_t0.cli import main
from multilingual_t0.sources.hub import HubCall, open_stream
from multilingual_t0.sources.layouts import catalog_split, xp3_language
from multilingual_t0.sources.located import locate

HUB = settings.DataSettings(source="hub")


def _snapshot(layout, hub_dir):
    import dataclasses

    return dataclasses.replace(layout, hub=dataclasses.replace(layout.hub, snapshot_dir=str(hub_dir)))


def _parquet(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def _readme_configs(repo, configs):
    """A dataset card whose YAML names configs and their files, as the Hub's converted repositories have."""
    lines = ["---", "configs:"]
    for name, splits in configs.items():
        lines += [f"- config_name: {name}", "  data_files:"]
        lines += [f"  - split: {split}\n    path: {path}" for split, path in splits.items()]
    (repo / "README.md").write_text("\n".join(lines + ["---", ""]), encoding="utf-8")


def _benchmark_split(name, lang, split="validation"):
    spec = find_benchmark(name).dataset_spec(lang)
    return catalog_split(spec, spec.split(split))


COPA = {"premise": "Mtu alikimbia.", "choice1": "Alichoka.", "choice2": "Alilala.", "question": "effect",
        "label": 0, "idx": 0, "changed": False}


def test_xcopa_reads_mains_configs(tmp_path, no_network):
    repo = tmp_path / "cambridgeltl" / "xcopa"
    _parquet(repo / "sw" / "validation-00000-of-00001.parquet", [COPA])
    _parquet(repo / "sw" / "test-00000-of-00001.parquet", [COPA, COPA])
    _readme_configs(repo, {"sw": {"validation": "sw/validation-*.parquet", "test": "sw/test-*.parquet"}})
    layout = _benchmark_split("xcopa", "sw")
    assert layout.hub.revision is None and layout.hub.name == "sw"
    assert list(locate(_snapshot(layout, tmp_path), HUB)) == [COPA]


def test_xwinograd_reads_mains_configs(tmp_path, no_network):
    row = {"sentence": "A _ B", "option1": "x", "option2": "y", "answer": "1"}
    repo = tmp_path / "Muennighoff" / "xwinograd"
    _parquet(repo / "data" / "jp" / "test.parquet", [row])
    _readme_configs(repo, {"jp": {"test": "data/jp/test.parquet"}})
    layout = _benchmark_split("xwinograd", "jp")
    assert list(locate(_snapshot(layout, tmp_path), HUB)) == [row]


def test_xstory_cloze_reads_the_export_branchs_files_and_eval_becomes_validation(tmp_path, no_network):
    story = {"story_id": "s1", "input_sentence_1": "Moja.", "input_sentence_2": "Mbili.", "input_sentence_3": "Tatu.",
             "input_sentence_4": "Nne.", "sentence_quiz1": "Tano.", "sentence_quiz2": "Sita.", "answer_right_ending": 1}
    repo = tmp_path / "juletxara" / "xstory_cloze"
    _parquet(repo / "sw" / "xstory_cloze-eval.parquet", [story])
    _parquet(repo / "sw" / "xstory_cloze-train.parquet", [dict(story, story_id="s2")])
    layout = _benchmark_split("xstory_cloze", "sw")
    assert layout.hub.data_files == {"eval": "sw/xstory_cloze-eval.parquet"}
    assert [r["story_id"] for r in locate(_snapshot(layout, tmp_path), HUB)] == ["s1"]
    # What the table asked before: a config name on a branch without a README, which datasets >= 4 refuses.
    with pytest.raises(Exception, match="(?i)config"):
        list(open_stream(HubCall("juletxara/xstory_cloze", name="sw", split="eval", snapshot_dir=str(tmp_path)),
                         "xstory_cloze sw", "fix"))


def test_crows_pairs_reads_the_export_branch_folder(tmp_path, no_network):
    row = {"id": 0, "sent_more": "A", "sent_less": "B", "stereo_antistereo": 0, "bias_type": 1,
           "annotations": [[1]], "anon_writer": "a", "anon_annotators": ["b"]}
    _parquet(tmp_path / "nyu-mll" / "crows_pairs" / "crows_pairs" / "test" / "0000.parquet", [row])
    spec = find_dataset("crows_pairs")[0]
    layout = catalog_split(spec, spec.split("test"))
    assert (layout.hub.name, layout.hub.data_dir, layout.hub.revision) == (None, "crows_pairs", "refs/convert/parquet")
    assert [r["sent_more"] for r in locate(_snapshot(layout, tmp_path), HUB)] == ["A"]


def test_trec_reads_the_export_branch_and_renames_its_labels(tmp_path, no_network):
    row = {"text": "How far is the moon ?", "coarse_label": 4, "fine_label": 40}
    for split in ("train", "test"):
        _parquet(tmp_path / "CogComp" / "trec" / "default" / split / "0000.parquet", [row])
    spec = find_dataset("trec")[0]
    records = list(locate(_snapshot(catalog_split(spec, spec.split("train")), tmp_path), HUB))
    assert records == [{"text": "How far is the moon ?", "label_coarse": 4, "label_fine": 40}]


def test_wiki_bio_reads_the_export_branch_folder(tmp_path, no_network):
    row = {"input_text": {"table": {"column_header": ["name"], "row_number": [1], "content": ["Ada"]},
                          "context": "Ada"}, "target_text": "Ada was a mathematician ."}
    for split in ("train", "validation", "test"):
        _parquet(tmp_path / "michaelauli" / "wiki_bio" / "default" / split / "0000.parquet", [row])
    spec = find_dataset("wiki_bio")[0]
    layout = catalog_split(spec, spec.split("validation"))
    assert (layout.hub.data_dir, layout.hub.revision) == ("default", "refs/convert/parquet")
    assert [r["target_text"] for r in locate(_snapshot(layout, tmp_path), HUB)] == ["Ada was a mathematician ."]


def test_xp3mt_reads_the_per_prompt_files_of_a_language(tmp_path, no_network):
    lang_dir = tmp_path / "bigscience" / "xP3mt" / "sw"
    lang_dir.mkdir(parents=True)
    for k in range(3):
        (lang_dir / f"xp3_prompt{k}_train.jsonl").write_text(
            json.dumps({"inputs": f"swali {k}", "targets": f"jibu {k}"}) + "\n", encoding="utf-8")
    records = list(locate(_snapshot(xp3_language("xp3mt", "sw"), tmp_path), HUB))
    assert sorted(r["targets"] for r in records) == ["jibu 0", "jibu 1", "jibu 2"]


# ------------------------------------------------------------------------ mt0 download, every family


def test_download_xp3_a_benchmark_and_an_mc4_language_from_local_hub_layouts(tmp_path, capsys, registered,
                                                                              monkeypatch, no_network):
    hub, mirror = tmp_path / "hub", tmp_path / "mirror"
    xp3 = hub / "bigscience" / "xP3" / "sw"
    xp3.mkdir(parents=True)
    with open(xp3 / "merged_sw.jsonl", "w", encoding="utf-8") as f:  # sorted by source, as the Hub's
        f.writelines(json.dumps({"inputs": f"Source {i // 50}: {i}", "targets": f"t{i}"}) + "\n" for i in range(500))
    xnli = hub / "facebook" / "xnli"
    rows = [{"premise": f"P {i}", "hypothesis": f"H {i}", "label": i % 3} for i in range(30)]
    _parquet(xnli / "fr" / "validation-00000-of-00001.parquet", rows)
    _parquet(xnli / "fr" / "test-00000-of-00001.parquet", rows[:10])
    _readme_configs(xnli, {"fr": {"validation": "fr/validation-*", "test": "fr/test-*"}})
    c4 = hub / "allenai" / "c4" / "multilingual"
    c4.mkdir(parents=True)
    for name, docs in (("c4-sw.tfrecord-00000-of-00002.json.gz", 40), ("c4-sw.tfrecord-00001-of-00002.json.gz", 40),
                       ("c4-sw-validation.tfrecord-00000-of-00001.json.gz", 10)):
        with gzip.open(c4 / name, "wt", encoding="utf-8") as f:
            f.writelines(json.dumps({"text": f"Hati {name} {i}", "url": "u", "timestamp": "t"}) + "\n"
                         for i in range(docs))

    code = main(["download", "xP3/sw", "xnli/fr", "mc4/sw", "--to", str(mirror), "--hub-dir", str(hub)])
    out = capsys.readouterr().out
    assert code == 0 and "5 splits" in out

    counts = {p: json.loads((mirror / p).read_text()) for p in (
        "xP3/sw/train.counts.json", "xnli/fr/validation.counts.json", "xnli/fr/test.counts.json",
        "mc4/sw/train.counts.json", "mc4/sw/validation.counts.json")}
    assert [sum(c.values()) for c in counts.values()] == [500, 30, 10, 80, 10]

    import seqio

    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(mirror))
    xp3_targets = [e["targets"] for e in seqio.get_mixture_or_task("xp3.sw").source.iter_examples("train")]
    assert sorted(xp3_targets) == sorted(f"t{i}" for i in range(500)) and xp3_targets[:50] != [f"t{i}" for i in range(50)]
    xnli_task = seqio.get_mixture_or_task("xnli.fr_GPT_3_style_score_eval")
    assert len(list(xnli_task.source.iter_examples("validation"))) == 30
    docs = [d for _, d in seqio.get_mixture_or_task("mt5_lm_adapt.sw").source.locate("validation").records()]
    assert sorted(d["text"] for d in docs) == sorted(f"Hati c4-sw-validation.tfrecord-00000-of-00001.json.gz {i}"
                                                     for i in range(10))
    # A rerun finds every split complete and fetches nothing.
    assert main(["download", "xP3/sw", "xnli/fr", "mc4/sw", "--to", str(mirror), "--hub-dir",
                 str(tmp_path / "nothing")]) == 0


def test_download_names_unknown_families_and_languages(capsys, tmp_path):
    assert main(["download", "xnli/xx", "--to", str(tmp_path)]) == 2
    assert "language of xnli" in capsys.readouterr().err
    assert main(["download", "mc4", "--to", str(tmp_path)]) == 1
    assert "name the languages" in capsys.readouterr().err


def test_spooling_keeps_no_file_open_per_shard(tmp_path, monkeypatch):
    """1,024 shards are written with a few KB buffered per shard (no 1,024 open files)."""
    from multilingual_t0.sources import download

    monkeypatch.setattr(download, "SPOOL_FLUSH_BYTES", 100)
    written = download.write_shuffled_shards(({"i": i} for i in range(5_000)), str(tmp_path / "x" / "train"), 1024)
    assert len(written) == 1024
    counts = json.loads((tmp_path / "x" / "train.counts.json").read_text())
    assert sum(counts.values()) == 5_000
    assert os.path.exists(written[0])


# ------------------------------------------------------------------ a shuffled Hub stream, per epoch and host

STREAM_FILES, PER_FILE = 6, 60


@pytest.fixture
def xp3mt_hub_stream(tmp_path, no_network):
    """xP3mt 'sw' as its Hub repository lays it out (one file per prompt: 6 files, 360 records), located as
    a Hub stream; records are told apart by their target, '0' .. '359'."""
    lang_dir = tmp_path / "bigscience" / "xP3mt" / "sw"
    lang_dir.mkdir(parents=True)
    for k in range(STREAM_FILES):
        (lang_dir / f"xp3_prompt{k}_train.jsonl").write_text("".join(
            json.dumps({"inputs": f"swali {i}", "targets": str(i)}) + "\n"
            for i in range(k * PER_FILE, (k + 1) * PER_FILE)), encoding="utf-8")
    split = locate(_snapshot(xp3_language("xp3mt", "sw"), tmp_path), HUB)
    assert split.hub_stream is not None and split.hub_stream.num_shards == STREAM_FILES
    return split


def _targets(split, shard=0, hosts=1, **order):
    return [int(record["targets"]) for _, record in split.records(shard, hosts, **order)]


@pytest.mark.parametrize("buffer", [None, 32], ids=["buffer_holds_all", "buffer_of_32"])
def test_a_shuffled_hub_stream_has_its_own_order_per_epoch_reproducibly(xp3mt_hub_stream, monkeypatch, buffer):
    from multilingual_t0.sources import located

    if buffer is not None:  # fewer records held than the split has: the buffer and the file order both shuffle
        monkeypatch.setattr(located, "HUB_SHUFFLE_BUFFER", buffer)
    every = list(range(STREAM_FILES * PER_FILE))
    assert _targets(xp3mt_hub_stream) == every  # in file order unshuffled, the same in every epoch
    orders = {(seed, epoch): _targets(xp3mt_hub_stream, shuffle=True, seed=seed, epoch=epoch)
              for seed in (3, 4) for epoch in (0, 1, 2)}
    for key, order in orders.items():
        assert sorted(order) == every, key  # each record once in every epoch
        assert order[:20] != every[:20], key
        assert _targets(xp3mt_hub_stream, shuffle=True, seed=key[0], epoch=key[1]) == order, key  # reproducible
    assert len({tuple(order) for order in orders.values()}) == len(orders)  # per epoch and per seed its own
    assert orders[3, 1][:20] != orders[3, 0][:20] and orders[4, 0][:20] != orders[3, 0][:20]


@pytest.mark.parametrize("hosts", [2, 3, 8], ids=["2_hosts", "3_hosts", "8_hosts_more_than_files"])
def test_hub_stream_hosts_read_disjoint_parts_covering_the_split_whatever_their_seeds(xp3mt_hub_stream, hosts):
    """Every epoch, shuffled or not, the hosts' records are the split once, also when each host drew a seed
    of its own (seqio's seed=None, resolved per host); each host's order still changes per epoch."""
    every = list(range(STREAM_FILES * PER_FILE))
    for seeds in ([7] * hosts, list(range(100, 100 + hosts))):
        for epoch in (0, 1):
            parts = [_targets(xp3mt_hub_stream, host, hosts, shuffle=True, seed=seeds[host], epoch=epoch)
                     for host in range(hosts)]
            assert sorted(sum(parts, [])) == every, (seeds, epoch)
            assert all(parts), [len(p) for p in parts]
        assert _targets(xp3mt_hub_stream, 1, hosts, shuffle=True, seed=seeds[1], epoch=1) != \
            _targets(xp3mt_hub_stream, 1, hosts, shuffle=True, seed=seeds[1], epoch=0)
    unshuffled = [_targets(xp3mt_hub_stream, host, hosts) for host in range(hosts)]
    assert sorted(sum(unshuffled, [])) == every
