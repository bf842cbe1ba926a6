"""Metrics and postprocessors of a prompted task, chosen from its template's metadata.

T0's rule: GLUE and SuperGLUE templates with fixed answer choices use t5's GLUE/SuperGLUE metric lists
on class ids; other templates map promptsource's metric names to t5 metrics. Fixed answer choices turn
predictions and targets into class ids (the index of the choice, -1 when the text is none of them).
Everything here is a small picklable object whose template-dependent work happens on first call, so
registering ~1,000 tasks renders no Jinja.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import Callable, Counter, Dict, Iterable, List, Optional, Sequence

from t5.data import glue_utils
from t5.data import postprocessors as t5_postprocessors
from t5.evaluation import metrics as t5_metrics

from multilingual_t0.catalog.templates import TemplateInfo, fixed_answer_choices


def _squad_metric(targets: Sequence[str], predictions: Sequence[str]):
    """t5's squad metric takes a list of reference answers per example; prompted targets have one."""
    return t5_metrics.squad([[t] for t in targets], predictions)


# promptsource metric name -> t5 metric on strings. "Other" is accuracy, as in T0.
TEXT_METRICS = {
    "Accuracy": t5_metrics.accuracy,
    "Other": t5_metrics.accuracy,
    "BLEU": t5_metrics.bleu,
    "ROUGE": t5_metrics.rouge,
    "Squad": _squad_metric,
    "Spearman Correlation": t5_metrics.spearman_corrcoef,
    "Pearson Correlation": t5_metrics.pearson_corrcoef,
}
# Metrics that make sense on class ids (fixed answer choices).
CLASS_ID_METRICS = ("Accuracy", "Other", "Spearman Correlation", "Pearson Correlation")
# SuperGLUE subsets whose t5 metric lists do not fit prompted outputs (T0 used accuracy).
SUPER_GLUE_ACCURACY_ONLY = ("wsc.fixed", "multirc", "axg", "axb", "record")


def strip(output_or_target, example=None, is_target=False):  # pylint: disable=unused-argument
    """promptsource targets can carry leading whitespace."""
    return output_or_target.strip() if isinstance(output_or_target, str) else output_or_target


@dataclasses.dataclass(frozen=True)
class ClassIdPostprocessor:
    """Maps a decoded string to the index of its fixed answer choice (-1 when none matches)."""

    dataset: str
    subset: Optional[str]
    template: str

    def __call__(self, output_or_target, example=None, is_target=False):  # pylint: disable=unused-argument
        text = output_or_target.decode("utf-8") if isinstance(output_or_target, bytes) else output_or_target
        choices = fixed_answer_choices(self.dataset, self.subset, self.template) or ()
        text = text.strip()
        return choices.index(text) if text in choices else -1


# What a rank-classification eval reports beside t5's metrics (T5X writes them with the accuracy, in
# <task>-metrics.jsonl): the records scored, and those whose answer appears more than once among their choices.
RECORDS_SCORED = "records_scored"
RECORDS_ANSWER_REPEATED = "records_answer_repeated"


def record_counts(targets: Iterable[Sequence]) -> Dict[str, int]:
    """{RECORDS_SCORED, RECORDS_ANSWER_REPEATED} from the postprocessed targets of every scored choice,
    each `((example, choice), is_correct, weight, length)`: a record is an example, and its answer is
    repeated when more than one of its choices is correct."""
    correct: Counter = collections.Counter()
    for target in targets:
        correct[int(target[0][0])] += bool(target[1])
    return {RECORDS_SCORED: len(correct), RECORDS_ANSWER_REPEATED: sum(1 for n in correct.values() if n > 1)}


@dataclasses.dataclass(frozen=True)
class RankClassificationMetric:
    """t5's rank-classification metric (num_classes from the fixed choices, None if they vary), and
    `record_counts`, so the report can say on how many records each accuracy stands."""

    dataset: str
    subset: Optional[str]
    template: str

    def __call__(self, targets, scores):
        choices = fixed_answer_choices(self.dataset, self.subset, self.template)
        result = t5_metrics.rank_classification(targets, scores, num_classes=len(choices) if choices else None)
        return {**result, **record_counts(targets)}


# Score of each (input, choice) pair -> kept; targets -> (idx, is_correct, weight, length).
rank_classification_postprocessor = t5_postprocessors.rank_classification


def has_fixed_choices(dataset: str, subset: Optional[str], info: TemplateInfo) -> bool:
    """Cheap test: fixed choices are a Jinja expression with no variables in it."""
    return bool(info.answer_choices) and "{{" not in info.answer_choices and "{%" not in info.answer_choices


def postprocessor(dataset: str, subset: Optional[str], info: TemplateInfo) -> Callable:
    if has_fixed_choices(dataset, subset, info):
        return ClassIdPostprocessor(dataset, subset, info.name)
    return strip


def metric_fns(dataset: str, subset: Optional[str], info: TemplateInfo) -> List[Callable]:
    """The predict metrics of the task made from one template."""
    if has_fixed_choices(dataset, subset, info):
        if dataset == "glue" and subset in glue_utils.GLUE_METRICS:
            return list(glue_utils.get_glue_metric(subset))
        if dataset == "super_glue" and subset not in SUPER_GLUE_ACCURACY_ONLY:
            return list(glue_utils.get_super_glue_metric(subset))
        names = [m for m in info.metrics if m in CLASS_ID_METRICS] or ["Accuracy"]
    else:
        names = [m for m in info.metrics if m in TEXT_METRICS] or ["Accuracy"]
    return _dedupe([TEXT_METRICS[m] for m in names])


def _dedupe(fns: List[Callable]) -> List[Callable]:
    out: List[Callable] = []
    for fn in fns:
        if fn not in out:
            out.append(fn)
    return out
