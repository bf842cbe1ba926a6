import collections

import pytest

from multilingual_t0.catalog.datasets import load_catalog, parse_splits, read_catalog, COLUMNS
from multilingual_t0.errors import CatalogError


def test_catalog_rows_and_roles():
    specs = load_catalog()
    assert len(specs) == 68  # 66 (dataset, subset) pairs; ANLI is three rounds
    pairs = {(s.dataset, s.subset) for s in specs}
    assert len(pairs) == 66
    by_pair = {(s.dataset, s.subset): s for s in specs}
    train = collections.Counter(s.train_role for s in by_pair.values() if s.train_role)
    assert train == {"d4": 38, "gpt": 10, "sglue": 6}
    evals = collections.Counter(s.eval_role for s in by_pair.values() if s.eval_role)
    assert evals == {"d4": 9, "bias_fairness": 7}


def test_train_sizes_and_special_splits():
    by_label = {s.label: s for s in load_catalog()}
    assert by_label["amazon_polarity"].train_size == 3_600_000
    assert by_label["glue/qqp"].train_size == 363_846
    anli = [by_label[f"anli ({r})"] for r in ("r1", "r2", "r3")]
    assert sum(a.train_size for a in anli) == 162_865
    assert anli[0].split("validation").source == "dev_r1"
    assert anli[2].split("train").source == "train_r3"
    story = by_label["story_cloze/2016"]
    assert "train" not in story.split_names and story.hub_id is None and story.notes


def test_every_row_says_where_to_load_it():
    for spec in load_catalog():
        assert spec.hub_id or spec.notes, f"{spec.label}: no Hub id and no manual-download note"


def test_parse_splits():
    assert parse_splits("train=train_r1:5 validation") == (
        parse_splits("train=train_r1:5")[0], parse_splits("validation")[0])
    with pytest.raises(ValueError, match="'dev'"):
        parse_splits("dev:3")


def _write(tmp_path, rows):
    path = tmp_path / "cat.csv"
    path.write_text(",".join(COLUMNS) + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_bad_role_names_file_row_and_value(tmp_path):
    path = _write(tmp_path, ["imdb,,,sentiment,BASE,,25000,train:1,stanfordnlp/imdb,,,,,,",
                             "x,,,sentiment,MAYBE,,1,train:1,,,,,,,"])
    with pytest.raises(CatalogError, match=r"cat\.csv:3: do_train 'MAYBE' is not one of"):
        read_catalog(path)


def test_a_row_with_too_few_cells_names_its_line(tmp_path):
    path = _write(tmp_path, ["imdb,,,sentiment,BASE,,25000,train:1,stanfordnlp/imdb,,,,,,",
                             "imdb,,,sentiment,BASE,,25000,train:1,stanfordnlp/imdb,,,,"])
    with pytest.raises(CatalogError, match=r"cat\.csv:3: the row does not have the header's 15 cells"):
        read_catalog(path)


def test_training_row_needs_size(tmp_path):
    path = _write(tmp_path, ["imdb,,,sentiment,BASE,,,train:1,stanfordnlp/imdb,,,,,,"])
    with pytest.raises(CatalogError, match="without train_size"):
        read_catalog(path)


def test_missing_column(tmp_path):
    path = tmp_path / "cat.csv"
    path.write_text("dataset,subset\nimdb,\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="missing column"):
        read_catalog(str(path))
