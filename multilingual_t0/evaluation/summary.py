"""Aggregating prompt accuracies the T0 / mT0 way, the mT0 paper's protocol, and reference numbers.

Median over prompts per (dataset, language), then the mean of those medians over languages; beside each, on how
many records it stands (`record_notes` names the prompts that scored fewer records than another prompt of the same
dataset and language, and the records whose answer is more than one of their choices). The mT0 paper's
protocol (registry.xeval.paper_protocol): its 5 prompts per dataset and its languages; `select_paper_prompts`
keeps only those, and `protocol_notes` says where a dataset's prompts or languages differ from the paper's.
References: a CSV (dataset,language,accuracy), or a model of the paper (`mt0-13b`, `mt0-13b-p3`, ...) from
`data/paper_results.csv` (the xmtf repository's per-language medians).
"""

from __future__ import annotations

import csv
import dataclasses
import os
import statistics
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from multilingual_t0.catalog.benchmarks import load_benchmarks
from multilingual_t0.catalog.tables import DATA_DIR
from multilingual_t0.errors import UnknownNameError
from multilingual_t0.evaluation.results import PromptResult, is_file, open_file
from multilingual_t0.registry.xeval import paper_protocol

MEAN = "mean"  # the `language` of a dataset's mean-over-languages row
SUMMARY_COLUMNS = ("dataset", "language", "prompts", "accuracy")
PAPER_RESULTS_PATH = os.path.join(DATA_DIR, "paper_results.csv")
PROMPT_SETS = ("all", "paper")  # report every prompt found | only the mT0 paper's prompts and languages


@dataclasses.dataclass(frozen=True)
class SummaryRow:
    """Median over prompts of (dataset, language), or (language == "mean") the mean of those medians."""

    dataset: str
    language: str
    prompts: int
    accuracy: float
    low: float  # min over prompts (language rows) / over languages (mean rows)
    high: float
    reference: Optional[float] = None
    # Records scored: fewest and most over the prompts (language rows), their sums over languages (mean rows);
    # None when some prompt's count is not known.
    records_low: Optional[int] = None
    records_high: Optional[int] = None
    # Records whose answer is more than one of their choices: most over prompts / sum over languages.
    records_answer_repeated: Optional[int] = None

    @property
    def diff(self) -> Optional[float]:
        return None if self.reference is None else self.accuracy - self.reference


# ---- aggregation ----

def _order(datasets: Iterable[str]) -> List[str]:
    """Multilingual benchmarks first (table order), then the rest alphabetically."""
    first = [b.name for b in load_benchmarks()]
    names = set(datasets)
    return [d for d in first if d in names] + sorted(names - set(first))


def _language_row(dataset: str, language: str, prompts: Sequence[PromptResult]) -> SummaryRow:
    accs = [p.accuracy for p in prompts]
    row = SummaryRow(dataset, language, len(accs), statistics.median(accs), min(accs), max(accs))
    if any(p.records is None for p in prompts):
        return row
    return dataclasses.replace(row, records_low=min(p.records for p in prompts),
                               records_high=max(p.records for p in prompts),
                               records_answer_repeated=max(p.records_answer_repeated or 0 for p in prompts))


def _dataset_row(dataset: str, rows: Sequence[SummaryRow]) -> SummaryRow:
    medians = [r.accuracy for r in rows]
    row = SummaryRow(dataset, MEAN, sum(r.prompts for r in rows), statistics.fmean(medians), min(medians),
                     max(medians))
    if any(r.records_low is None for r in rows):
        return row
    return dataclasses.replace(row, records_low=sum(r.records_low for r in rows),
                               records_high=sum(r.records_high for r in rows),
                               records_answer_repeated=sum(r.records_answer_repeated for r in rows))


def aggregate(prompts: Sequence[PromptResult]) -> Tuple[List[SummaryRow], List[SummaryRow]]:
    """(median over prompts per (dataset, language), mean of those medians per dataset), with record counts."""
    groups: Dict[Tuple[str, str], List[PromptResult]] = {}
    for p in prompts:
        groups.setdefault((p.dataset, p.language), []).append(p)
    languages, datasets = [], []
    for dataset in _order(d for d, _ in groups):
        rows = [_language_row(d, lang, group) for (d, lang), group in sorted(groups.items()) if d == dataset]
        languages.extend(rows)
        datasets.append(_dataset_row(dataset, rows))
    return languages, datasets


def _listed(items: Sequence[str], limit: int = 6) -> str:
    return ", ".join(items[:limit]) + (f" and {len(items) - limit} more" if len(items) > limit else "")


def record_notes(prompts: Sequence[PromptResult]) -> List[str]:
    """What the record counts say: prompts that scored fewer records than another prompt of their dataset and
    language, records whose answer is more than one of their choices, and prompts whose count is not known."""
    groups: Dict[Tuple[str, str], List[PromptResult]] = {}
    for p in prompts:
        groups.setdefault((p.dataset, p.language), []).append(p)
    notes = []
    for (dataset, language), group in sorted(groups.items()):
        known = [p for p in group if p.records is not None]
        most = max((p.records for p in known), default=None)
        fewer = sorted((p for p in known if p.records < most), key=lambda p: (p.records, p.template))
        if fewer:
            notes.append(f"{dataset} {language}: {_listed([f'`{p.template}` {p.records}' for p in fewer])} of the "
                         f"{most} records another prompt scored (a template that applies to only some records, "
                         "e.g. COPA's cause-only and effect-only prompts, renders nothing for the others)")
        repeated = sorted((p for p in known if p.records_answer_repeated), key=lambda p: p.template)
        if repeated:
            notes.append(f"{dataset} {language}: records whose answer is more than one of their choices (every copy "
                         f"counts as correct, as in T0's rank classification): "
                         f"{_listed([f'`{p.template}` {p.records_answer_repeated}' for p in repeated])}")
    unknown = sorted(p.task for p in prompts if p.records is None)
    if unknown:
        notes.append(f"records scored not known for {len(unknown)} prompt(s) (metrics written without "
                     f"records_scored and no <task>-<step>.jsonl beside them): {_listed(unknown, 5)}")
    return notes


# ---- the mT0 paper's protocol ----

def select_paper_prompts(prompts: Sequence[PromptResult]) -> Tuple[List[PromptResult], List[str]]:
    """Only the mT0 paper's prompts and languages (xeval.paper_protocol); notes what was left out."""
    protocol = paper_protocol()
    kept, dropped = [], {}
    for p in prompts:
        spec = protocol.get(p.dataset)
        if spec and p.template in spec[0] and (spec[1] is None or p.language in spec[1]):
            kept.append(p)
        else:
            dropped.setdefault(p.dataset, set()).add(p.language if spec and spec[1] and p.language not in spec[1]
                                                      else p.template)
    notes = [f"--prompts paper left out of {d}: {', '.join(sorted(what))}" for d, what in sorted(dropped.items())]
    return kept, notes


def protocol_notes(prompts: Sequence[PromptResult]) -> List[str]:
    """Where the prompts or languages of a dataset differ from what the mT0 paper scored."""
    found: Dict[str, Dict[str, set]] = {}
    for p in prompts:
        found.setdefault(p.dataset, {}).setdefault(p.language, set()).add(p.template)
    notes = []
    for dataset, by_language in sorted(found.items()):
        spec = paper_protocol().get(dataset)
        if spec is None:
            continue
        paper, languages = set(spec[0]), spec[1]
        if any(templates != paper for templates in by_language.values()):
            counts = sorted({len(t) for t in by_language.values()})
            notes.append(f"{dataset}: prompts differ from the mT0 paper's 5 ({'/'.join(map(str, counts))} per "
                         "language; --prompts paper keeps only the paper's, or evaluate the paper mixture)")
        if languages is not None and set(by_language) != set(languages):
            extra, missing = sorted(set(by_language) - set(languages)), sorted(set(languages) - set(by_language))
            notes.append(f"{dataset}: the mean is over {len(by_language)} languages, the paper's over "
                         f"{len(languages)}" + (f"; not in the paper's: {' '.join(extra)}" if extra else "")
                         + (f"; missing: {' '.join(missing)}" if missing else ""))
    return notes


def chance_levels(datasets: Iterable[str]) -> Dict[str, float]:
    """dataset -> chance accuracy (%, a uniform guess) for the datasets of the paper's protocol."""
    return {d: paper_protocol()[d][2] for d in datasets if d in paper_protocol()}


# ---- reference numbers ----

def _read_csv(path: str) -> Tuple[List[str], List[Tuple[int, Dict[str, str]]]]:
    """(columns, [(line number, row)]) of a CSV whose leading `#` lines are comments (a source header)."""
    with open_file(path) as f:
        lines = f.read().splitlines()
    body = [(n, line) for n, line in enumerate(lines, start=1) if not line.startswith("#")]
    reader = csv.DictReader([line for _, line in body])
    rows = [(body[i + 1][0], row) for i, row in enumerate(reader)] if body else []
    return list(reader.fieldnames or []), rows


def read_reference(path: str) -> Dict[Tuple[str, str], float]:
    """A CSV with columns dataset, language, accuracy (percent); language `mean` (or empty) is the mean
    over languages. A `summary.csv` written by this report is a valid reference."""
    columns, rows = _read_csv(path)
    missing = [c for c in ("dataset", "language", "accuracy") if c not in columns]
    if missing:
        raise ValueError(f"{path}:1: missing column(s) {', '.join(missing)}; "
                         "expected dataset,language,accuracy (language 'mean' for the mean)")
    out = {}
    for line, row in rows:
        try:
            value = float(row["accuracy"])
        except (TypeError, ValueError) as err:
            raise ValueError(f"{path}:{line}: accuracy {row['accuracy']!r} is not a number") from err
        out[(row["dataset"].strip(), (row["language"] or "").strip() or MEAN)] = value
    return out


def paper_models(path: str = PAPER_RESULTS_PATH) -> Tuple[str, ...]:
    """The models of the mT0 paper whose results ship with the package (`mt0-13b`, `mt0-13b-p3`, ...)."""
    return tuple(c for c in _read_csv(path)[0] if c not in ("dataset", "language"))


def paper_results(model: str, path: str = PAPER_RESULTS_PATH) -> Dict[Tuple[str, str], float]:
    """The mT0 paper's per-language medians (5 English prompts) of one model, keyed (dataset, language)."""
    columns, rows = _read_csv(path)
    if model not in columns or model in ("dataset", "language"):
        raise UnknownNameError("mT0 paper model", model, paper_models(path))
    return {(row["dataset"], row["language"]): float(row[model]) for _, row in rows if row[model]}


def with_means(reference: Dict[Tuple[str, str], float]) -> Tuple[Dict[Tuple[str, str], float], List[str]]:
    """Adds each dataset's mean over its languages where the reference has no `mean` row (the paper's table
    has none); returns the datasets whose mean was computed here."""
    out, computed = dict(reference), []
    datasets = sorted({d for d, lang in reference if lang != MEAN} - {d for d, lang in reference if lang == MEAN})
    for dataset in datasets:
        values = [v for (d, lang), v in reference.items() if d == dataset and lang != MEAN]
        out[(dataset, MEAN)] = statistics.fmean(values)
        computed.append(dataset)
    return out, computed


def load_reference(reference: str) -> Tuple[Dict[Tuple[str, str], float], str]:
    """(values, label) of `--compare`: a model of the mT0 paper (case-insensitive) or a CSV file."""
    models = paper_models()
    if reference.lower() in models:
        values = paper_results(reference.lower())
        label = f"{reference.lower()} (mT0 paper, xmtf allres.ipynb; data/paper_results.csv)"
    elif is_file(reference):
        values, label = read_reference(reference), reference
    else:
        err = UnknownNameError("reference (a model of the mT0 paper or a CSV file)", reference, models)
        err.args = (f"{err.args[0]} Models: {', '.join(models)}; or pass a CSV with dataset,language,accuracy.",)
        raise err
    return with_means(values)[0], label


def attach_reference(rows: List[SummaryRow], reference: Dict[Tuple[str, str], float]) -> List[SummaryRow]:
    return [dataclasses.replace(r, reference=reference.get((r.dataset, r.language))) for r in rows]


def reference_notes(languages: Sequence[SummaryRow], datasets: Sequence[SummaryRow],
                    reference: Dict[Tuple[str, str], float]) -> List[str]:
    """The reference's datasets without results, and its language rows of our datasets without results."""
    ours = {(r.dataset, r.language) for r in languages}
    have = {r.dataset for r in datasets}
    absent = sorted({d for d, _ in reference} - have)
    unmatched = sorted(f"{d}/{lang}" for d, lang in reference if d in have and lang != MEAN and (d, lang) not in ours)
    notes = []
    if absent:
        notes.append(f"reference datasets without results: {', '.join(absent)}")
    if unmatched:
        notes.append(f"reference rows without results: {', '.join(unmatched)}")
    return notes
