"""Zero-shot results report: T5X eval output -> accuracy per prompt, median per (dataset, language), mean
over languages (the T0 / mT0 protocol), as markdown, CSV and a PNG bar chart.

What it reads: `t5x/eval.py` gives seqio's Evaluator the log dir `<EVAL_OUTPUT_DIR>/inference_eval`, where
seqio's JSONLogger writes, per task,
  `<task>-metrics.jsonl`   one JSON line per evaluated checkpoint: {"step": N, "accuracy": ..., ...}
  `<task>-<step:06>.jsonl` one line per scored (prompt, answer choice): {"input": {...}, "target":
                           [[example, choice], is_correct, weight, target_length], "score": log-likelihood}
Accuracy comes from the metrics file; a task without one is scored from its inference file (argmax of the
summed log-likelihood per example, first choice on ties: what t5's rank-classification metric does).
Accuracies are percentages, as t5's metrics report them.

The mT0 paper's protocol (xeval.paper_protocol): its 5 prompts per dataset and its languages; `prompts="paper"`
keeps only those, and every report notes where a dataset's prompts or languages differ from the paper's.
References: a CSV (dataset,language,accuracy), or a model of the paper (`mt0-13b`, `mt0-13b-p3`, ...) from
`data/paper_results.csv` (the xmtf repository's per-language medians). `trained_on` (a training mixture)
marks each dataset whose task cluster the mixture trained on as not zero-shot (contamination.py).
Files are touched only by the small functions under "file access" (`_open`, `_glob`, ...).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import statistics
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from multilingual_t0 import fileio
from multilingual_t0.catalog import DATA_DIR
from multilingual_t0.errors import DataNotFoundError, UnknownNameError

METRICS_SUFFIX = "-metrics.jsonl"
INFERENCE_FILE = re.compile(r"^(?P<task>.+)-(?P<step>-?\d+)\.jsonl$")
XEVAL_TASK = re.compile(r"^(?P<bench>[A-Za-z0-9_]+)\.(?P<lang>[a-z]{2,3})_(?P<template>.+)_score_eval$")
MEAN = "mean"  # the `language` of a dataset's mean-over-languages row
SUMMARY_COLUMNS = ("dataset", "language", "prompts", "accuracy")
PAPER_RESULTS_PATH = os.path.join(DATA_DIR, "paper_results.csv")
PROMPT_SETS = ("all", "paper")  # report every prompt found | only the mT0 paper's prompts and languages


@dataclasses.dataclass(frozen=True)
class PromptResult:
    """Accuracy of one task (= one prompt of one dataset in one language) at one step."""

    task: str
    dataset: str
    language: str
    template: str
    step: int
    accuracy: float
    source: str  # "metrics" or "scores"


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

    @property
    def diff(self) -> Optional[float]:
        return None if self.reference is None else self.accuracy - self.reference


@dataclasses.dataclass
class Report:
    prompts: List[PromptResult]
    languages: List[SummaryRow]  # one per (dataset, language)
    datasets: List[SummaryRow]  # one per dataset (language == "mean")
    notes: List[str]  # what was skipped, mixed steps, unmatched reference rows, protocol differences
    chance: Dict[str, float] = dataclasses.field(default_factory=dict)  # dataset -> chance accuracy (%)
    reference_label: Optional[str] = None
    trained_on: Optional[str] = None  # the training mixture checked for contamination
    not_zero_shot: Dict[str, Tuple[str, ...]] = dataclasses.field(default_factory=dict)  # dataset -> tasks

    def zero_shot(self, dataset: str) -> Optional[bool]:
        """False when the training mixture trained on the dataset's cluster; None when nothing was checked."""
        return None if self.trained_on is None else dataset not in self.not_zero_shot

    def to_json(self) -> dict:
        def row(r):
            return {**dataclasses.asdict(r), "diff": r.diff, "chance": self.chance.get(r.dataset),
                    "zero_shot": self.zero_shot(r.dataset)}

        return {"datasets": [row(r) for r in self.datasets], "languages": [row(r) for r in self.languages],
                "prompts": [dataclasses.asdict(p) for p in self.prompts], "notes": list(self.notes),
                "reference": self.reference_label, "trained_on": self.trained_on,
                "not_zero_shot": {d: list(t) for d, t in self.not_zero_shot.items()}}


# ---- file access: the only functions here that touch files (to route through fileio for gs://) ----

def _open(path: str, mode: str = "r"):
    """Opens a local or gs:// file: text modes UTF-8 without newline translation (csv needs that)."""
    return fileio.open(path, mode, newline="")


_glob, _is_file, _is_dir, _make_dir = fileio.glob, fileio.isfile, fileio.isdir, fileio.makedirs


# ---- which dataset, language and prompt a task is ----

def _task_index() -> Dict[str, Tuple[str, str, str]]:
    """Registered task names -> (dataset, language, template), from the specs (no seqio, no data)."""
    from multilingual_t0.task_specs import build_task_specs
    from multilingual_t0.xeval import build_eval_task_specs, report_name

    index = {}
    for t in build_task_specs():
        index[t.name] = (report_name(t.dataset), "en", t.template.name)
    for t in build_eval_task_specs():
        index[t.name] = (t.benchmark, t.language, t.template.name)
    return index


def identify(task: str, index: Optional[Dict[str, Tuple[str, str, str]]] = None) -> Optional[Tuple[str, str, str]]:
    """(dataset, language, template) of a task name; None when it is neither registered nor `<b>.<lang>_...`."""
    index = _task_index() if index is None else index
    if task in index:
        return index[task]
    match = XEVAL_TASK.match(task)
    return (match["bench"], match["lang"], match["template"]) if match else None


# ---- reading the eval directory ----

def results_dir(path: str) -> str:
    """The directory holding the JSON logs: `<path>/inference_eval` when present, else `path`."""
    sub = fileio.join(path, "inference_eval")
    return sub if _is_dir(sub) else path


def _read_jsonl(path: str) -> Iterable[dict]:
    with _open(path) as f:
        for line_no, line in enumerate(f, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{line_no}: not a JSON line ({err})") from err


def read_metrics(path: str, step: Optional[int] = None) -> Optional[Tuple[int, float]]:
    """(step, accuracy) from a `<task>-metrics.jsonl`: the given step, else the latest (last line wins)."""
    by_step = {}
    for record in _read_jsonl(path):
        if "accuracy" in record and isinstance(record.get("step"), int):
            by_step[record["step"]] = float(record["accuracy"])
    if not by_step:
        return None
    chosen = max(by_step) if step is None else step
    return (chosen, by_step[chosen]) if chosen in by_step else None


def accuracy_from_scores(rows: Iterable[Tuple[Sequence, float]]) -> float:
    """Percent accuracy from (target, score) pairs, target = [[example, choice], is_correct, weight, len].

    Per example, the choice with the highest summed log-likelihood is the prediction; ties go to the
    lowest choice index. Weighted by the example's weight.
    """
    best: Dict[int, Tuple[float, int, bool, float]] = {}  # example -> (score, -choice, is_correct, weight)
    for target, score in rows:
        (example, choice), is_correct, weight = target[0], target[1], target[2]
        key = (float(score), -int(choice))
        if int(example) not in best or key > best[int(example)][:2]:
            best[int(example)] = (key[0], key[1], bool(is_correct), float(weight))
    if not best:
        raise ValueError("no scored examples")
    total = sum(w for *_, w in best.values())
    return 100.0 * sum(w for _, _, ok, w in best.values() if ok) / total


def read_scores(path: str) -> float:
    """Accuracy of a `<task>-<step>.jsonl` inference file written for a rank-classification task."""
    rows = []
    for line_no, record in enumerate(_read_jsonl(path), start=1):
        if "score" not in record or "target" not in record:
            raise ValueError(f"{path}:{line_no}: no 'score' and 'target' (not a rank-classification output)")
        rows.append((record["target"], record["score"]))
    return accuracy_from_scores(rows)


def read_eval_dir(path: str, step: Optional[int] = None) -> Tuple[List[PromptResult], List[str]]:
    """Every task's accuracy found below an EVAL_OUTPUT_DIR (or its inference_eval/), plus notes."""
    root = results_dir(path)
    metrics = {os.path.basename(p)[: -len(METRICS_SUFFIX)]: p
               for p in _glob(fileio.join(fileio.escape(root), "*" + METRICS_SUFFIX))}
    inferences: Dict[str, Dict[int, str]] = {}
    for p in _glob(fileio.join(fileio.escape(root), "*.jsonl")):
        match = INFERENCE_FILE.match(os.path.basename(p))
        if match and not p.endswith(METRICS_SUFFIX):
            inferences.setdefault(match["task"], {})[int(match["step"])] = p
    if not metrics and not inferences:
        raise DataNotFoundError(
            f"T5X eval results in {path}",
            [fileio.join(root, "*" + METRICS_SUFFIX), fileio.join(root, "*-<step>.jsonl")],
            "pass the EVAL_OUTPUT_DIR of a t5x/eval.py run (configs/runs/eval_score.gin); its "
            "inference_eval/ folder holds <task>-metrics.jsonl",
        )
    index = _task_index()
    results, notes = [], []
    for task in sorted(set(metrics) | set(inferences)):
        who = identify(task, index)
        if who is None:
            notes.append(f"skipped {task}: not a registered task nor <benchmark>.<lang>_<prompt>_score_eval")
            continue
        found = read_metrics(metrics[task], step) if task in metrics else None
        if found is not None:
            results.append(PromptResult(task, *who, found[0], found[1], "metrics"))
            continue
        steps = inferences.get(task, {})
        chosen = (max(steps) if steps else None) if step is None else step
        if chosen in steps:
            try:
                results.append(PromptResult(task, *who, chosen, read_scores(steps[chosen]), "scores"))
            except ValueError as err:
                notes.append(f"skipped {task}: {err}")
        else:
            at = "" if step is None else f" at step {step}"
            notes.append(f"skipped {task}: no accuracy{at} in its metrics or inference files")
    generated = [r.task for r in results if not r.task.endswith("_score_eval")]
    if generated:
        notes.append(f"{len(generated)} task(s) are not rank-classification (_score_eval) tasks; their accuracy "
                     f"is of generated answers: {', '.join(generated[:5])}{' ...' if len(generated) > 5 else ''}")
    found_steps = sorted({r.step for r in results})
    if len(found_steps) > 1:
        notes.append(f"results come from different steps: {', '.join(map(str, found_steps))} (use --step)")
    return results, notes


# ---- aggregation ----

def _order(datasets: Iterable[str]) -> List[str]:
    """Multilingual benchmarks first (table order), then the rest alphabetically."""
    from multilingual_t0.xeval import load_benchmarks

    first = [b.name for b in load_benchmarks()]
    names = set(datasets)
    return [d for d in first if d in names] + sorted(names - set(first))


def aggregate(prompts: Sequence[PromptResult]) -> Tuple[List[SummaryRow], List[SummaryRow]]:
    """(median over prompts per (dataset, language), mean of those medians per dataset)."""
    groups: Dict[Tuple[str, str], List[float]] = {}
    for p in prompts:
        groups.setdefault((p.dataset, p.language), []).append(p.accuracy)
    languages, datasets = [], []
    for dataset in _order(d for d, _ in groups):
        rows = [SummaryRow(d, lang, len(accs), statistics.median(accs), min(accs), max(accs))
                for (d, lang), accs in sorted(groups.items()) if d == dataset]
        languages.extend(rows)
        medians = [r.accuracy for r in rows]
        datasets.append(SummaryRow(dataset, MEAN, sum(r.prompts for r in rows), statistics.fmean(medians),
                                   min(medians), max(medians)))
    return languages, datasets


# ---- the mT0 paper's protocol ----

def select_paper_prompts(prompts: Sequence[PromptResult]) -> Tuple[List[PromptResult], List[str]]:
    """Only the mT0 paper's prompts and languages (xeval.paper_protocol); notes what was left out."""
    from multilingual_t0.xeval import paper_protocol

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
    from multilingual_t0.xeval import paper_protocol

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


# ---- reference numbers ----

def _read_csv(path: str) -> Tuple[List[str], List[Tuple[int, Dict[str, str]]]]:
    """(columns, [(line number, row)]) of a CSV whose leading `#` lines are comments (a source header)."""
    with _open(path) as f:
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
    elif _is_file(reference):
        values, label = read_reference(reference), reference
    else:
        err = UnknownNameError("reference (a model of the mT0 paper or a CSV file)", reference, models)
        err.args = (f"{err.args[0]} Models: {', '.join(models)}; or pass a CSV with dataset,language,accuracy.",)
        raise err
    return with_means(values)[0], label


def attach_reference(rows: List[SummaryRow], reference: Dict[Tuple[str, str], float]) -> List[SummaryRow]:
    return [dataclasses.replace(r, reference=reference.get((r.dataset, r.language))) for r in rows]


def trained_on_mixture(value: str) -> str:
    """`--trained-on`: a training mixture name, or a run's config.gin / MODEL_DIR / checkpoint directory
    (its MIXTURE_OR_TASK_NAME)."""
    from multilingual_t0 import contamination

    if not (os.sep in value or value.endswith(".gin") or _is_file(fileio.join(value, contamination.CONFIG_GIN))):
        return value
    tried = contamination.config_candidates(value)
    for path in tried:
        if _is_file(path):
            with _open(path) as f:
                return contamination.mixture_from_config(f.read(), path)
    raise DataNotFoundError(f"the training run's {contamination.CONFIG_GIN}", tried,
                            "pass the MODEL_DIR (or a checkpoint in it) of a t5x/train.py run, or the mixture name")


def build_report(eval_dir: str, step: Optional[int] = None, reference: Optional[str] = None,
                 prompts: str = "all", trained_on: Optional[str] = None) -> Report:
    """Reads a T5X eval output directory into a Report: `reference` a CSV or a paper model (`mt0-13b-p3`),
    `prompts` "all" or "paper", `trained_on` a training mixture (or its run's config.gin) to check."""
    from multilingual_t0.xeval import paper_protocol

    if prompts not in PROMPT_SETS:
        raise ValueError(f"prompts {prompts!r} is not one of {', '.join(PROMPT_SETS)}")
    results, notes = read_eval_dir(eval_dir, step)
    if prompts == "paper":
        results, dropped = select_paper_prompts(results)
        notes += dropped
    if not results:
        raise ValueError(f"no accuracy found in {results_dir(eval_dir)}: " + "; ".join(notes))
    notes += protocol_notes(results)
    languages, datasets = aggregate(results)
    chance = {r.dataset: paper_protocol()[r.dataset][2] for r in datasets if r.dataset in paper_protocol()}
    report = Report(results, languages, datasets, notes, chance)
    if reference:
        ref, report.reference_label = load_reference(reference)
        report.languages, report.datasets = attach_reference(languages, ref), attach_reference(datasets, ref)
        ours = {(r.dataset, r.language) for r in languages}
        have = {r.dataset for r in datasets}
        absent = sorted({d for d, _ in ref} - have)
        unmatched = sorted(f"{d}/{lang}" for d, lang in ref if d in have and lang != MEAN and (d, lang) not in ours)
        if absent:
            notes.append(f"reference datasets without results: {', '.join(absent)}")
        if unmatched:
            notes.append(f"reference rows without results: {', '.join(unmatched)}")
    if trained_on:
        from multilingual_t0 import contamination

        report.trained_on = trained_on_mixture(trained_on)
        report.not_zero_shot = contamination.not_zero_shot([r.dataset for r in datasets], report.trained_on)
    return report


# ---- output ----

def _num(value: Optional[float], signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _zero_shot_cell(report: Report, dataset: str) -> str:
    return {None: "", True: "yes", False: "**no**"}[report.zero_shot(dataset)]


def _contamination_lines(report: Report) -> List[str]:
    """Datasets grouped by the training tasks that make them not zero-shot, each task named."""
    from multilingual_t0.contamination import by_dataset, dataset_cluster

    groups: Dict[Tuple[str, ...], List[str]] = {}
    for dataset, tasks in report.not_zero_shot.items():
        groups.setdefault(tasks, []).append(dataset)
    lines = []
    for tasks, datasets in groups.items():
        clusters = sorted({dataset_cluster(d) or "?" for d in datasets})
        sources = ", ".join(f"{d} ({n} prompt{'s' if n > 1 else ''})" for d, n in by_dataset(tasks).items())
        lines.append(f"- {', '.join(datasets)} (cluster {', '.join(clusters)}): trained on {sources}: "
                     + ", ".join(f"`{t}`" for t in tasks))
    return lines


def to_markdown(report: Report) -> str:
    with_ref = any(r.reference is not None for r in report.languages + report.datasets)
    extra = ["reference", "diff"] if with_ref else []
    checked = report.trained_on is not None

    def ref_cells(r: SummaryRow) -> List[str]:
        return [_num(r.reference), _num(r.diff, signed=True)] if with_ref else []

    steps = sorted({p.step for p in report.prompts})
    lines = ["# Zero-shot accuracy (rank classification)", "",
             f"{len(report.prompts)} prompts; step {', '.join(map(str, steps))}. Accuracy in percent: median "
             "over prompts per (dataset, language), then mean over languages; chance = a uniform guess."]
    if report.reference_label:
        lines += ["", f"Reference: {report.reference_label}; diff = ours - reference."]
    if checked:
        flagged = ", ".join(report.not_zero_shot) or "none"
        lines += ["", f"Trained on `{report.trained_on}`: **not zero-shot** on {flagged}."
                  if report.not_zero_shot else f"Trained on `{report.trained_on}`: zero-shot on every dataset below."]
    lines += ["", "## Datasets", ""]
    lines += _table(["dataset", "languages", "prompts", "accuracy", "min language", "max language"] + extra
                    + ["chance"] + (["zero-shot"] if checked else []),
                    [[r.dataset, str(sum(1 for x in report.languages if x.dataset == r.dataset)), str(r.prompts),
                      _num(r.accuracy), _num(r.low), _num(r.high)] + ref_cells(r)
                     + [_num(report.chance.get(r.dataset))] + ([_zero_shot_cell(report, r.dataset)] if checked else [])
                     for r in report.datasets])
    lines += ["", "## Languages", ""]
    lines += _table(["dataset", "language", "prompts", "median", "min prompt", "max prompt"] + extra,
                    [[r.dataset, r.language, str(r.prompts), _num(r.accuracy), _num(r.low), _num(r.high)]
                     + ref_cells(r) for r in report.languages])
    if report.not_zero_shot:
        lines += ["", "## Not zero-shot", "",
                  f"`{report.trained_on}` trained on the task cluster of these datasets (contamination.py; "
                  "data/task_clusters.csv):", ""] + _contamination_lines(report)
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def write_csvs(report: Report, out_dir: str) -> Tuple[str, str]:
    prompts_path, summary_path = fileio.join(out_dir, "prompts.csv"), fileio.join(out_dir, "summary.csv")
    with _open(prompts_path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "language", "template", "task", "step", "accuracy", "source"])
        for p in sorted(report.prompts, key=lambda p: (p.dataset, p.language, p.template)):
            writer.writerow([p.dataset, p.language, p.template, p.task, p.step, f"{p.accuracy:.4f}", p.source])
    with _open(summary_path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(list(SUMMARY_COLUMNS) + ["min", "max", "reference", "diff", "chance", "zero_shot"])
        for r in report.datasets + report.languages:
            chance, zero_shot = report.chance.get(r.dataset), report.zero_shot(r.dataset)
            writer.writerow([r.dataset, r.language, r.prompts, f"{r.accuracy:.4f}", f"{r.low:.4f}", f"{r.high:.4f}",
                             "" if r.reference is None else f"{r.reference:.4f}",
                             "" if r.diff is None else f"{r.diff:.4f}",
                             "" if chance is None else f"{chance:.4f}",
                             "" if zero_shot is None else ("yes" if zero_shot else "no")])
    return prompts_path, summary_path


TITLE = "Zero-shot accuracy: median over prompts, mean over languages"


def figure(report: Report):
    """The chart: per dataset a bar for ours and (when compared) one for the reference side by side, a dot
    per language median on each, a dashed line at chance; datasets not zero-shot are marked."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    names = [r.dataset for r in report.datasets]
    with_ref = any(r.reference is not None for r in report.datasets)
    width = 0.38 if with_ref else 0.7
    fig = Figure(figsize=(max(7.0, 1.0 * len(names) + 2.5), 5.0), layout="constrained")
    ax = fig.subplots()
    ours_x = [i - width / 2 if with_ref else i for i in range(len(names))]
    ax.bar(ours_x, [r.accuracy for r in report.datasets], width, color="#4c72b0", label="ours (mean)")
    for x, name in zip(ours_x, names):
        medians = [r.accuracy for r in report.languages if r.dataset == name]
        ax.scatter([x] * len(medians), medians, s=10, color="#1b2a49", zorder=3,
                   label="language median" if x == ours_x[0] else None)
    if with_ref:
        ref_x = [i + width / 2 for i in range(len(names))]
        ax.bar(ref_x, [r.reference or 0.0 for r in report.datasets], width, color="#dd8452",
               label=f"reference: {(report.reference_label or '').split(' (')[0]}")
        for x, name in zip(ref_x, names):
            refs = [r.reference for r in report.languages if r.dataset == name and r.reference is not None]
            ax.scatter([x] * len(refs), refs, s=10, color="#7a3b12", zorder=3)
    for i, name in enumerate(names):
        if name in report.chance:
            ax.hlines(report.chance[name], i - 0.45, i + 0.45, colors="black", linestyles="dashed", zorder=4,
                      label="chance" if not any(n in report.chance for n in names[:i]) else None)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n + ("\n(not zero-shot)" if report.zero_shot(n) is False else "") for n in names],
                       rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    fig.legend(loc="outside lower center", fontsize=8, ncol=4, frameon=False)
    fig.suptitle(TITLE, fontsize=11)
    return fig


def plot(report: Report, path: str) -> str:
    with _open(path, "wb") as f:
        figure(report).savefig(f, format="png", dpi=100)
    return path


def write_report(report: Report, out_dir: str) -> Dict[str, str]:
    """report.md, prompts.csv, summary.csv and accuracy.png in out_dir (created)."""
    _make_dir(out_dir)
    md = fileio.join(out_dir, "report.md")
    with _open(md, "w") as f:
        f.write(to_markdown(report))
    prompts_csv, summary_csv = write_csvs(report, out_dir)
    png = plot(report, fileio.join(out_dir, "accuracy.png"))
    return {"markdown": md, "prompts": prompts_csv, "summary": summary_csv, "chart": png}
