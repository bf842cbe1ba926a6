import dataclasses
import gzip
import json
import os

import pytest
import seqio

from multilingual_t0 import settings
from multilingual_t0.catalog.datasets import find_dataset
from multilingual_t0.catalog.tables import SAMPLES_DIR
from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.sources.files import InvalidRecord
from multilingual_t0.sources.layouts import catalog_split
from multilingual_t0.sources.located import locate

RTE = find_dataset("super_glue", "rte")[0]
RECORDS = [{"premise": f"p{i}", "hypothesis": f"h{i}", "idx": i, "label": i % 2} for i in range(6)]


def open_split(spec, split_name, source=None):
    """`spec`'s split located in `source` (mirror | samples | hub), default the settings' (environment's)."""
    chosen = settings.current() if source is None else settings.current().replace(source=source)
    return locate(catalog_split(spec, spec.split(split_name)), chosen)


def write_jsonl(path, records, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r) + "\n" for r in records)
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize("name", ["train.jsonl", "train.jsonl.gz", "train.parquet", "shards"])
def test_mirror_formats(tmp_path, monkeypatch, name):
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    folder = tmp_path / "super_glue" / "rte"
    if name == "train.parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(RECORDS), folder / name)
    elif name == "shards":
        write_jsonl(folder / "train-00000-of-00002.jsonl", RECORDS[:3])
        write_jsonl(folder / "train-00001-of-00002.jsonl", RECORDS[3:])
    else:
        write_jsonl(folder / name, RECORDS, gz=name.endswith(".gz"))
    assert list(open_split(RTE, "train", "mirror")) == RECORDS


def test_mirror_applies_field_map_and_counts_corrupt_lines(tmp_path, monkeypatch):
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    spec = dataclasses.replace(RTE, field_map=(("sentence1", "premise"),))
    path = tmp_path / "super_glue" / "rte" / "train.jsonl"
    write_jsonl(path, [{"sentence1": "p", "hypothesis": "h", "label": 0}])
    with open(path, "a", encoding="utf-8") as f:
        f.write("{not json\n")
    out = list(open_split(spec, "train", "mirror"))
    assert out[0] == {"premise": "p", "hypothesis": "h", "label": 0}
    assert isinstance(out[1], InvalidRecord) and out[1].where.endswith("train.jsonl:2")


def test_missing_split_names_everything_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    with pytest.raises(DataNotFoundError) as err:
        open_split(RTE, "validation", "mirror")
    message = str(err.value)
    assert "super_glue/rte split 'validation' (mirror)" in message
    for suffix in ("validation.jsonl", "validation.jsonl.gz", "validation.parquet", "validation-*.parquet"):
        assert str(tmp_path / "super_glue" / "rte" / suffix) in message
    assert "aps/super_glue" in message and "Fix:" in message
    assert isinstance(err.value, FileNotFoundError)


def test_missing_data_fails_at_get_dataset_not_inside_tf_data(registered, tmp_path, monkeypatch):
    monkeypatch.setenv("MT0_DATA_SOURCE", "mirror")
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    task = seqio.get_mixture_or_task("super_glue_rte_GPT_3_style")
    with pytest.raises(DataNotFoundError, match="super_glue/rte split 'train'"):
        task.get_dataset({"inputs": 64, "targets": 8}, split="train", shuffle=False, use_cached=False)


def test_unknown_split_is_a_clear_error():
    with pytest.raises(KeyError, match="story_cloze/2016 has no split 'train'; it has: validation, test"):
        open_split(find_dataset("story_cloze")[0], "train", "samples")


def test_manual_dataset_on_hub_explains_how_to_get_it(no_network):
    with pytest.raises(DataNotFoundError, match="no Hub copy in the catalog") as err:
        open_split(find_dataset("story_cloze")[0], "validation", "hub")
    assert "MT0_DATA_DIR" in str(err.value)


def test_hub_loader_streams_a_local_repository(tmp_path, no_network):
    """The Hub path is datasets.load_dataset(..., streaming=True); a local folder stands in for a repo."""
    write_jsonl(tmp_path / "repo" / "train.jsonl", [{"sentence1": "p", "hypothesis": "h", "label": 1}])
    spec = dataclasses.replace(RTE, hub_id=str(tmp_path / "repo"), hub_config=None,
                               field_map=(("sentence1", "premise"),))
    stream = open_split(spec, "train", "hub")
    assert list(stream) == [{"premise": "p", "hypothesis": "h", "label": 1}]


def test_unreachable_hub_is_a_clear_error(no_network):
    spec = dataclasses.replace(RTE, hub_id="mt0-test-org/does-not-exist")
    with pytest.raises(DataNotFoundError, match="mt0-test-org/does-not-exist") as err:
        open_split(spec, "train", "hub")
    assert "MT0_DATA_SOURCE=mirror" in str(err.value)


def test_bad_source_setting(monkeypatch):
    monkeypatch.setenv("MT0_DATA_SOURCE", "ftp")
    with pytest.raises(ValueError, match="MT0_DATA_SOURCE='ftp' is not one of auto, mirror, hub, samples"):
        open_split(RTE, "train")


def test_auto_reads_the_mirror_when_a_data_dir_is_set(registered, tmp_path, monkeypatch, no_network):
    """The documented default: MT0_DATA_SOURCE=auto (or unset) + MT0_DATA_DIR -> the mirror, no Hub call."""
    write_jsonl(tmp_path / "super_glue" / "rte" / "train.jsonl", RECORDS)
    monkeypatch.setenv("MT0_DATA_DIR", str(tmp_path))
    for setting in ("auto", None):
        if setting:
            monkeypatch.setenv("MT0_DATA_SOURCE", setting)
        else:
            monkeypatch.delenv("MT0_DATA_SOURCE")
        assert list(open_split(RTE, "train")) == RECORDS
        source = seqio.get_mixture_or_task("super_glue_rte_GPT_3_style").source
        assert [e["inputs"].startswith("p") for e in source.iter_examples("train")] == [True] * 6


def test_auto_without_a_data_dir_means_the_hub(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("MT0_DATA_SOURCE", "auto")
    monkeypatch.delenv("MT0_DATA_DIR", raising=False)
    with pytest.raises(DataNotFoundError, match=r"super_glue/rte split 'train' \(Hugging Face Hub\)"):
        open_split(RTE, "train")


def test_catalog_column_renames_read_samples_in_the_hubs_field_names():
    """The samples of every dataset with a `field_map` use the Hub copy's own names (e.g. trec's
    `coarse_label`, qangaroo's `query`), so every sample test goes through the renames."""
    from multilingual_t0.catalog.datasets import load_catalog

    renamed = [spec for spec in load_catalog() if spec.field_map]
    assert {spec.label for spec in renamed} == {"trec", "wiki_hop/original"}
    for spec in renamed:
        for split in spec.split_names:
            raw = [json.loads(line) for line in open(_sample_path(spec, split), encoding="utf-8")]
            records = list(open_split(spec, split, "samples"))
            assert raw and len(records) == len(raw)
            for hub_name, template_name in spec.field_map:
                assert all(hub_name in r and template_name not in r for r in raw), (spec.label, hub_name)
                assert all(template_name in r and hub_name not in r for r in records), (spec.label, template_name)


def _sample_path(spec, split):
    return os.path.join(SAMPLES_DIR, *spec.path_parts, spec.split(split).source + ".jsonl")
