"""T0's prompted tasks (one per catalog dataset x promptsource template), their rank-classification twins,
and T0's training and held-out mixtures, registered from the specs (registry/specs.py)."""

from __future__ import annotations

from multilingual_t0.pipeline import vocab
from multilingual_t0.registry import prompted
from multilingual_t0.registry.specs import SCORE_EVAL, TaskSpec, build_mixture_specs, build_task_specs


def _add_task(spec: TaskSpec, features) -> None:
    add = prompted.add_score_eval_task if spec.kind == SCORE_EVAL else prompted.add_prompted_task
    add(spec.name, spec.dataset, spec.template, features)


def register(features=None) -> None:
    """Registers every T0 task and mixture not registered yet."""
    features = features or vocab.output_features()
    prompted.add_missing(build_task_specs(), lambda spec: _add_task(spec, features), build_mixture_specs())
