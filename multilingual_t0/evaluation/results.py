"""Reading what T5X's eval writes: accuracy per task (= one prompt of one dataset in one language) and step.

`t5x/eval.py` gives seqio's Evaluator the log dir `<EVAL_OUTPUT_DIR>/inference_eval`, where seqio's
JSONLogger writes, per task,
  `<task>-metrics.jsonl`   one JSON line per evaluated checkpoint: {"step": N, "accuracy": ..., ...}
  `<task>-<step:06>.jsonl` one line per scored (prompt, answer choice): {"input": {...}, "target":
                           [[example, choice], is_correct, weight, target_length], "score": log-likelihood}
Accuracy comes from the metrics file; a task without one is scored from its inference file (argmax of the
summed log-likelihood per example, first choice on ties: what t5's rank-classification metric does).
Accuracies are percentages, as t5's metrics report them. Beside each accuracy, on how many records it stands:
`records_scored` and `records_answer_repeated` (records whose answer is more than one of their choices), which the
package's rank-classification metric writes into the metrics file; for a metrics line without them (an eval run
before the metric counted) they are counted from the inference file of the same step when there is one.

A task name is identified as (dataset, language, template) from the registry's specs, else parsed as an
eval task name (`registry.naming.parse_eval_task`). Files are touched only by the small functions under
"file access" (`open_file`, `glob_files`, ...), which the rest of `evaluation/` uses too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.pipeline.metrics import RECORDS_ANSWER_REPEATED, RECORDS_SCORED, record_counts
from multilingual_t0.registry.naming import parse_eval_task, report_name
from multilingual_t0.registry.specs import build_task_specs
from multilingual_t0.registry.xeval import build_eval_task_specs
from multilingual_t0.sources import fileio

METRICS_SUFFIX = "-metrics.jsonl"
INFERENCE_FILE = re.compile(r"^(?P<task>.+)-(?P<step>-?\d+)\.jsonl$")


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
    records: Optional[int] = None  # records scored (None: not known)
    records_answer_repeated: Optional[int] = None  # of those, records whose answer is more than one choice


# ---- file access: the only functions of evaluation/ that touch files (through fileio, for gs://) ----

def open_file(path: str, mode: str = "r"):
    """Opens a local or gs:// file: text modes UTF-8 without newline translation (csv needs that)."""
    return fileio.open(path, mode, newline="")


glob_files, is_file, is_dir, make_dirs = fileio.glob, fileio.isfile, fileio.isdir, fileio.makedirs


# ---- which dataset, language and prompt a task is ----

def _task_index() -> Dict[str, Tuple[str, str, str]]:
    """Registered task names -> (dataset, language, template), from the specs (no seqio, no data)."""
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
    return parse_eval_task(task)


# ---- reading the eval directory ----

def results_dir(path: str) -> str:
    """The directory holding the JSON logs: `<path>/inference_eval` when present, else `path`."""
    sub = fileio.join(path, "inference_eval")
    return sub if is_dir(sub) else path


def _read_jsonl(path: str) -> Iterable[dict]:
    with open_file(path) as f:
        for line_no, line in enumerate(f, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as err:
                    raise ValueError(f"{path}:{line_no}: not a JSON line ({err})") from err


Counts = Dict[str, int]  # {RECORDS_SCORED: n, RECORDS_ANSWER_REPEATED: m}; empty when not known


def read_metrics(path: str, step: Optional[int] = None) -> Optional[Tuple[int, float, Counts]]:
    """(step, accuracy, counts) from a `<task>-metrics.jsonl`: the given step, else the latest (last line wins)."""
    by_step = {}
    for record in _read_jsonl(path):
        if "accuracy" in record and isinstance(record.get("step"), int):
            counts = {k: int(record[k]) for k in (RECORDS_SCORED, RECORDS_ANSWER_REPEATED) if k in record}
            by_step[record["step"]] = (float(record["accuracy"]), counts if len(counts) == 2 else {})
    if not by_step:
        return None
    chosen = max(by_step) if step is None else step
    return (chosen, *by_step[chosen]) if chosen in by_step else None


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


def read_scores(path: str) -> Tuple[float, Counts]:
    """(accuracy, counts) of a `<task>-<step>.jsonl` inference file written for a rank-classification task."""
    rows = []
    for line_no, record in enumerate(_read_jsonl(path), start=1):
        if "score" not in record or "target" not in record:
            raise ValueError(f"{path}:{line_no}: no 'score' and 'target' (not a rank-classification output)")
        rows.append((record["target"], record["score"]))
    return accuracy_from_scores(rows), record_counts(target for target, _ in rows)


def _counted(result: PromptResult, counts: Counts) -> PromptResult:
    if not counts:
        return result
    return dataclasses.replace(result, records=counts[RECORDS_SCORED],
                               records_answer_repeated=counts[RECORDS_ANSWER_REPEATED])


def read_eval_dir(path: str, step: Optional[int] = None) -> Tuple[List[PromptResult], List[str]]:
    """Every task's accuracy found below an EVAL_OUTPUT_DIR (or its inference_eval/), plus notes."""
    root = results_dir(path)
    metrics = {os.path.basename(p)[: -len(METRICS_SUFFIX)]: p
               for p in glob_files(fileio.join(fileio.escape(root), "*" + METRICS_SUFFIX))}
    inferences: Dict[str, Dict[int, str]] = {}
    for p in glob_files(fileio.join(fileio.escape(root), "*.jsonl")):
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
        steps = inferences.get(task, {})
        if found is not None:
            found_step, accuracy, counts = found
            if not counts and found_step in steps:  # a metrics line written before the metric counted records
                try:
                    counts = read_scores(steps[found_step])[1]
                except ValueError:
                    counts = {}
            results.append(_counted(PromptResult(task, *who, found_step, accuracy, "metrics"), counts))
            continue
        chosen = (max(steps) if steps else None) if step is None else step
        if chosen in steps:
            try:
                accuracy, counts = read_scores(steps[chosen])
                results.append(_counted(PromptResult(task, *who, chosen, accuracy, "scores"), counts))
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
