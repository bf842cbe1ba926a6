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
from multilingual_t0.errors import DataNotFoundError

METRICS_SUFFIX = "-metrics.jsonl"
INFERENCE_FILE = re.compile(r"^(?P<task>.+)-(?P<step>-?\d+)\.jsonl$")
XEVAL_TASK = re.compile(r"^(?P<bench>[A-Za-z0-9_]+)\.(?P<lang>[a-z]{2,3})_(?P<template>.+)_score_eval$")
MEAN = "mean"  # the `language` of a dataset's mean-over-languages row
SUMMARY_COLUMNS = ("dataset", "language", "prompts", "accuracy")


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
    notes: List[str]  # what was skipped, mixed steps, unmatched reference rows

    def to_json(self) -> dict:
        def row(r):
            return {**dataclasses.asdict(r), "diff": r.diff}

        return {"datasets": [row(r) for r in self.datasets], "languages": [row(r) for r in self.languages],
                "prompts": [dataclasses.asdict(p) for p in self.prompts], "notes": list(self.notes)}


# ---- which dataset, language and prompt a task is ----

def _task_index() -> Dict[str, Tuple[str, str, str]]:
    """Registered task names -> (dataset, language, template), from the specs (no seqio, no data)."""
    from multilingual_t0.task_specs import build_task_specs
    from multilingual_t0.xeval import build_eval_task_specs

    index = {}
    for t in build_task_specs():
        ds = t.dataset
        index[t.name] = ("/".join(p for p in (ds.dataset, ds.subset, ds.variant) if p), "en", t.template.name)
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
    return sub if fileio.isdir(sub) else path


def _read_jsonl(path: str) -> Iterable[dict]:
    with fileio.open(path) as f:
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
               for p in fileio.glob(fileio.join(fileio.escape(root), "*" + METRICS_SUFFIX))}
    inferences: Dict[str, Dict[int, str]] = {}
    for p in fileio.glob(fileio.join(fileio.escape(root), "*.jsonl")):
        match = INFERENCE_FILE.match(os.path.basename(p))
        if match and not p.endswith(METRICS_SUFFIX):
            inferences.setdefault(match["task"], {})[int(match["step"])] = p
    if not metrics and not inferences:
        raise DataNotFoundError(
            f"T5X eval results in {path}",
            [os.path.join(root, "*" + METRICS_SUFFIX), os.path.join(root, "*-<step>.jsonl")],
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


# ---- reference numbers ----

def read_reference(path: str) -> Dict[Tuple[str, str], float]:
    """A CSV with columns dataset, language, accuracy (percent); language `mean` (or empty) is the mean
    over languages. A `summary.csv` written by this report is a valid reference."""
    with fileio.open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ("dataset", "language", "accuracy") if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}:1: missing column(s) {', '.join(missing)}; "
                             "expected dataset,language,accuracy (language 'mean' for the mean)")
        out = {}
        for line, row in enumerate(reader, start=2):
            try:
                value = float(row["accuracy"])
            except ValueError as err:
                raise ValueError(f"{path}:{line}: accuracy {row['accuracy']!r} is not a number") from err
            out[(row["dataset"].strip(), row["language"].strip() or MEAN)] = value
    return out


def attach_reference(rows: List[SummaryRow], reference: Dict[Tuple[str, str], float]) -> List[SummaryRow]:
    return [dataclasses.replace(r, reference=reference.get((r.dataset, r.language))) for r in rows]


def build_report(eval_dir: str, step: Optional[int] = None, reference: Optional[str] = None) -> Report:
    """Reads a T5X eval output directory (and an optional reference CSV) into a Report."""
    prompts, notes = read_eval_dir(eval_dir, step)
    if not prompts:
        raise ValueError(f"no accuracy found in {results_dir(eval_dir)}: " + "; ".join(notes))
    languages, datasets = aggregate(prompts)
    if reference:
        ref = read_reference(reference)
        languages, datasets = attach_reference(languages, ref), attach_reference(datasets, ref)
        ours = {(r.dataset, r.language) for r in languages + datasets}
        unmatched = sorted(f"{d}/{lang}" for d, lang in ref if (d, lang) not in ours)
        if unmatched:
            notes.append(f"reference rows without results: {', '.join(unmatched)}")
    return Report(prompts, languages, datasets, notes)


# ---- output ----

def _num(value: Optional[float], signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def to_markdown(report: Report) -> str:
    with_ref = any(r.reference is not None for r in report.languages + report.datasets)
    extra = ["reference", "diff"] if with_ref else []

    def ref_cells(r: SummaryRow) -> List[str]:
        return [_num(r.reference), _num(r.diff, signed=True)] if with_ref else []

    steps = sorted({p.step for p in report.prompts})
    lines = ["# Zero-shot accuracy (rank classification)", "",
             f"{len(report.prompts)} prompts; step {', '.join(map(str, steps))}. Accuracy in percent: median "
             "over prompts per (dataset, language), then mean over languages.", "", "## Datasets", ""]
    lines += _table(["dataset", "languages", "prompts", "accuracy", "min language", "max language"] + extra,
                    [[r.dataset, str(sum(1 for x in report.languages if x.dataset == r.dataset)), str(r.prompts),
                      _num(r.accuracy), _num(r.low), _num(r.high)] + ref_cells(r) for r in report.datasets])
    lines += ["", "## Languages", ""]
    lines += _table(["dataset", "language", "prompts", "median", "min prompt", "max prompt"] + extra,
                    [[r.dataset, r.language, str(r.prompts), _num(r.accuracy), _num(r.low), _num(r.high)]
                     + ref_cells(r) for r in report.languages])
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


def write_csvs(report: Report, out_dir: str) -> Tuple[str, str]:
    prompts_path, summary_path = fileio.join(out_dir, "prompts.csv"), fileio.join(out_dir, "summary.csv")
    with fileio.open(prompts_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "language", "template", "task", "step", "accuracy", "source"])
        for p in sorted(report.prompts, key=lambda p: (p.dataset, p.language, p.template)):
            writer.writerow([p.dataset, p.language, p.template, p.task, p.step, f"{p.accuracy:.4f}", p.source])
    with fileio.open(summary_path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(SUMMARY_COLUMNS) + ["min", "max", "reference", "diff"])
        for r in report.datasets + report.languages:
            writer.writerow([r.dataset, r.language, r.prompts, f"{r.accuracy:.4f}", f"{r.low:.4f}", f"{r.high:.4f}",
                             "" if r.reference is None else f"{r.reference:.4f}",
                             "" if r.diff is None else f"{r.diff:.4f}"])
    return prompts_path, summary_path


def plot(report: Report, path: str) -> str:
    """Bar per dataset (mean over languages), a dot per language median, a tick for the reference."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    names = [r.dataset for r in report.datasets]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.9 * len(names) + 2), 4.5))
    ax.bar(range(len(names)), [r.accuracy for r in report.datasets], color="#4c72b0", label="mean over languages")
    for i, name in enumerate(names):
        medians = [r.accuracy for r in report.languages if r.dataset == name]
        ax.scatter([i] * len(medians), medians, s=12, color="#dd8452", zorder=3,
                   label="language median" if i == 0 else None)
    refs = [(i, r.reference) for i, r in enumerate(report.datasets) if r.reference is not None]
    if refs:
        ax.scatter([i for i, _ in refs], [v for _, v in refs], marker="_", s=400, color="black", zorder=4,
                   label="reference")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Zero-shot accuracy (median over prompts, mean over languages)", pad=24)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    with fileio.open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)
    return path


def write_report(report: Report, out_dir: str) -> Dict[str, str]:
    """report.md, prompts.csv, summary.csv and accuracy.png in out_dir (created)."""
    fileio.makedirs(out_dir)
    md = fileio.join(out_dir, "report.md")
    with fileio.open(md, "w") as f:
        f.write(to_markdown(report))
    prompts_csv, summary_csv = write_csvs(report, out_dir)
    png = plot(report, fileio.join(out_dir, "accuracy.png"))
    return {"markdown": md, "prompts": prompts_csv, "summary": summary_csv, "chart": png}
