"""The registry calls every prompted task shares (T0 tasks, their twins, the multilingual evals).

registry/t0.py and registry/xeval.py describe *what* to register as specs; this module is the one place that turns a
(dataset, template) into a seqio Task, so a twin is built the same way wherever it comes from.
"""

from __future__ import annotations

from typing import Callable, Iterable, Optional, Tuple

import seqio

from multilingual_t0.catalog.datasets import DatasetSpec
from multilingual_t0.catalog.templates import TemplateInfo
from multilingual_t0.pipeline import metrics, preprocessors
from multilingual_t0.pipeline.prompted_source import PromptedDataSource
from multilingual_t0.pipeline.streamed_mixture import add_mixture
from multilingual_t0.registry.specs import MixtureSpec


def add_prompted_task(name: str, dataset: DatasetSpec, template: TemplateInfo, features) -> None:
    """Inputs/targets generation task; class-id postprocessing and metrics from the template."""
    # The chain starts with preprocessors.tokenize: the source tokenizes whole batches instead.
    source = PromptedDataSource(dataset, template.name, name, with_choices=template.has_answer_choices,
                                tokenize_features=features)
    seqio.TaskRegistry.add(
        name, source, output_features=features,
        preprocessors=preprocessors.prompted_chain(),
        postprocess_fn=metrics.postprocessor(dataset.dataset, dataset.subset, template),
        metric_fns=metrics.metric_fns(dataset.dataset, dataset.subset, template),
    )


def add_score_eval_task(name: str, dataset: DatasetSpec, template: TemplateInfo, features,
                        template_from: Optional[Tuple[str, Optional[str]]] = None) -> None:
    """Rank-classification task: one example per answer choice, those equal to the answer correct (the
    answer may appear more than once among the choices: the metric counts such records); fixed feature
    lengths that would cut an example are refused (preprocessors.refuse_truncation).
    `template_from` = (dataset, subset) of the template when it is another dataset's (XCOPA uses COPA's)."""
    template_from = template_from or (dataset.dataset, dataset.subset)
    source = PromptedDataSource(dataset, template.name, name, with_choices=True,
                                require_answer_among_choices=True, template_from=template_from)
    seqio.TaskRegistry.add(
        name, source, output_features=features,
        preprocessors=preprocessors.score_eval_chain(name),
        postprocess_fn=metrics.rank_classification_postprocessor,
        metric_fns=[metrics.RankClassificationMetric(*template_from, template.name)],
    )


def add_missing(task_specs: Iterable, add_task: Callable, mixtures: Iterable[MixtureSpec]) -> None:
    """Registers the tasks (spec.name) and mixtures not registered yet: importing twice is harmless."""
    registered = set(seqio.TaskRegistry.names())
    for spec in task_specs:
        if spec.name not in registered:
            add_task(spec)
    registered_mixtures = set(seqio.MixtureRegistry.names())
    for mixture in mixtures:
        if mixture.name not in registered_mixtures:
            add_mixture(mixture.name, list(mixture.tasks))
