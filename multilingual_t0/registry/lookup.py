"""Find a registered task or mixture by name (with "did you mean" suggestions), and a mixture's tasks."""

from __future__ import annotations

from typing import List, Optional, Tuple

import seqio

from multilingual_t0.errors import UnknownNameError
from multilingual_t0.registry.all_tasks import register_all


def get_provider(name: str):
    """The seqio Task or Mixture called `name` (registers the tasks first)."""
    register_all()
    try:
        return seqio.get_mixture_or_task(name)
    except ValueError as err:
        known = list(seqio.TaskRegistry.names()) + list(seqio.MixtureRegistry.names())
        raise UnknownNameError("task or mixture", name, known) from err


def leaf_tasks(name: str) -> List:
    """The tasks of a mixture (recursively), or [task] for a task."""
    provider = get_provider(name)
    if isinstance(provider, seqio.Mixture):
        return list(provider.tasks)
    return [provider]


def leaf_tasks_with_rates(name: str) -> List[Tuple[seqio.Task, Optional[float], float]]:
    """[(task, rate, share)] for a mixture, or [(task, None, 1.0)] for a task."""
    provider = get_provider(name)
    if not isinstance(provider, seqio.Mixture):
        return [(provider, None, 1.0)]
    rates = [(t, float(provider.get_rate(t))) for t in provider.tasks]
    total = sum(r for _, r in rates) or 1.0
    return [(t, r, r / total) for t, r in rates]
