"""The evaluation benchmarks' tables: `data/xeval.csv` and `data/paper_prompts.csv`, as typed rows.

`xeval.csv` lists the multilingual benchmarks (XNLI, XCOPA, XStoryCloze, XWinograd): where each one's data
is, which languages it has, and which English promptsource templates are applied to every language.
Each (benchmark, language) is a catalog-style `DatasetSpec` whose data sits at `<benchmark>/<lang>/<split>`
in a mirror or the samples. `paper_prompts.csv` names the 5 English prompts the mT0 paper scored per
template source, and whether the dataset itself is in the paper's English held-out set.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Dict, Optional, Tuple

from multilingual_t0.catalog.datasets import DatasetSpec, SplitSpec, parse_field_map, parse_pairs, parse_splits
from multilingual_t0.catalog.tables import DATA_DIR, read_table
from multilingual_t0.catalog.templates import list_templates
from multilingual_t0.errors import CatalogError, UnknownNameError

XEVAL_PATH = os.path.join(DATA_DIR, "xeval.csv")
PAPER_PROMPTS_PATH = os.path.join(DATA_DIR, "paper_prompts.csv")
COLUMNS = ("benchmark", "hub_id", "hub_config", "hub_revision", "hub_data_dir", "hub_data_files",
           "template_dataset", "template_subset",
           "languages", "splits", "paper_languages", "split_sizes", "field_map", "notes")
PAPER_COLUMNS = ("template_dataset", "template_subset", "prompts", "choices", "english_heldout", "notes")
PROMPT_SEPARATOR = "|"

@dataclasses.dataclass(frozen=True)
class PaperPrompts:
    """One row of paper_prompts.csv: the 5 prompts the mT0 paper scored with one dataset's templates."""

    template_dataset: str
    template_subset: Optional[str]
    prompts: Tuple[str, ...]
    choices: int  # answer choices per item: chance accuracy is 100 / choices
    english_heldout: bool  # the catalog dataset itself is in the English held-out set
    notes: str

    @property
    def chance(self) -> float:
        return 100.0 / self.choices


def _row_to_paper_prompts(row: Dict[str, str]) -> PaperPrompts:
    dataset, subset = row["template_dataset"].strip(), row["template_subset"].strip() or None
    prompts = tuple(p.strip() for p in row["prompts"].split(PROMPT_SEPARATOR) if p.strip())
    if len(set(prompts)) != len(prompts):
        raise ValueError(f"prompts repeat: {row['prompts']!r}")
    known = {t.name: t for t in list_templates(dataset, subset)}
    for name in prompts:
        if name not in known:
            raise ValueError(f"promptsource has no template {name!r} for {dataset}/{subset}; it has: "
                             f"{', '.join(sorted(known))}")
        if not known[name].has_answer_choices:
            raise ValueError(f"template {name!r} of {dataset}/{subset} has no answer choices")
    if not row["choices"].strip().isdigit() or int(row["choices"]) < 2:
        raise ValueError(f"choices {row['choices']!r} is not a whole number >= 2")
    if row["english_heldout"].strip() not in ("yes", "no"):
        raise ValueError(f"english_heldout {row['english_heldout']!r} is not yes or no")
    return PaperPrompts(dataset, subset, prompts, int(row["choices"]), row["english_heldout"].strip() == "yes",
                        row["notes"].strip())


@functools.lru_cache(maxsize=None)
def load_paper_prompts(path: str = PAPER_PROMPTS_PATH) -> Dict[Tuple[str, Optional[str]], PaperPrompts]:
    """(template dataset, subset) -> the paper's prompts for it; errors name file:row."""
    rows = read_table(path, PAPER_COLUMNS, _row_to_paper_prompts,
                      key=lambda p: f"{p.template_dataset}/{p.template_subset}")
    return {(p.template_dataset, p.template_subset): p for p in rows}


def paper_prompts(template_dataset: str, template_subset: Optional[str]) -> PaperPrompts:
    found = load_paper_prompts().get((template_dataset, template_subset))
    if found is None:
        raise CatalogError(f"{PAPER_PROMPTS_PATH}: no row for templates {template_dataset}/{template_subset}; "
                           "add the paper's prompts for them")
    return found


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """One row of xeval.csv: a multilingual benchmark evaluated with another dataset's templates."""

    name: str
    hub_id: Optional[str]
    hub_config: Optional[str]  # may hold {lang}
    hub_revision: Optional[str]
    hub_data_dir: Optional[str]  # may hold {lang}
    hub_data_files: Tuple[Tuple[str, str], ...]  # (source split, pattern); patterns may hold {lang}
    template_dataset: str
    template_subset: Optional[str]
    languages: Tuple[str, ...]
    splits: Tuple[SplitSpec, ...]
    paper_languages: Tuple[str, ...]  # the languages the mT0 paper averaged over
    split_sizes: Tuple[Tuple[str, int], ...]  # per-language sizes overriding those in `splits`
    field_map: Tuple[Tuple[str, str], ...]
    notes: str

    def dataset_spec(self, lang: str) -> DatasetSpec:
        """The language's data as a catalog dataset: mirror/sample path `<benchmark>/<lang>/<split>`."""
        if lang not in self.languages:
            err = UnknownNameError(f"language of {self.name}", lang, self.languages)
            err.args = (f"{err.args[0]} It has: {' '.join(self.languages)}.",)
            raise err
        size = dict(self.split_sizes).get(lang)
        splits = tuple(dataclasses.replace(s, num_examples=size) for s in self.splits) if size else self.splits
        return DatasetSpec(
            dataset=self.name, subset=lang, variant=None, task_by_convention="evaluation",
            train_role=None, eval_role=None, train_size=None, splits=splits, hub_id=self.hub_id,
            hub_config=self.hub_config.format(lang=lang) if self.hub_config else None,
            hub_revision=self.hub_revision, field_map=self.field_map, notes=self.notes,
            hub_data_dir=self.hub_data_dir.format(lang=lang) if self.hub_data_dir else None,
            hub_data_files=tuple((split, pattern.format(lang=lang)) for split, pattern in self.hub_data_files),
        )


def _parse_sizes(text: str, languages: Tuple[str, ...]) -> Tuple[Tuple[str, int], ...]:
    pairs = []
    for item in text.split():
        lang, sep, size = item.partition("=")
        if not sep or not size.isdigit():
            raise ValueError(f"split_sizes item {item!r} is not lang=number")
        if lang not in languages:
            raise ValueError(f"split_sizes names language {lang!r}, not one of the row's languages")
        pairs.append((lang, int(size)))
    return tuple(pairs)


def _row_to_benchmark(row: Dict[str, str]) -> Benchmark:
    languages = tuple(row["languages"].split())
    if not languages:
        raise ValueError("no languages given")
    if len(set(languages)) != len(languages):
        raise ValueError(f"languages repeat: {row['languages']!r}")
    template_dataset = row["template_dataset"].strip()
    template_subset = row["template_subset"].strip() or None
    if not list_templates(template_dataset, template_subset):
        raise ValueError(f"promptsource has no templates for {template_dataset}/{template_subset}")
    paper_languages = tuple(row["paper_languages"].split()) or languages
    if set(paper_languages) - set(languages):
        raise ValueError(f"paper_languages {' '.join(sorted(set(paper_languages) - set(languages)))} "
                         "are not in languages")
    return Benchmark(
        name=row["benchmark"].strip(),
        hub_id=row["hub_id"].strip() or None,
        hub_config=row["hub_config"].strip() or None,
        hub_revision=row["hub_revision"].strip() or None,
        hub_data_dir=row["hub_data_dir"].strip() or None,
        hub_data_files=parse_pairs(row["hub_data_files"], "hub_data_files", "split=pattern"),
        template_dataset=template_dataset,
        template_subset=template_subset,
        languages=languages,
        splits=parse_splits(row["splits"]),
        paper_languages=paper_languages,
        split_sizes=_parse_sizes(row["split_sizes"], languages),
        field_map=parse_field_map(row["field_map"]),
        notes=row["notes"].strip(),
    )


def read_benchmarks(path: str = XEVAL_PATH) -> Tuple[Benchmark, ...]:
    """Reads and validates the benchmark table; errors name file:row."""
    return read_table(path, COLUMNS, _row_to_benchmark, key=lambda bench: f"benchmark {bench.name!r}")


@functools.lru_cache(maxsize=None)
def load_benchmarks() -> Tuple[Benchmark, ...]:
    return read_benchmarks(XEVAL_PATH)


def find_benchmark(name: str) -> Benchmark:
    for bench in load_benchmarks():
        if bench.name == name:
            return bench
    raise UnknownNameError("benchmark", name, [b.name for b in load_benchmarks()])
