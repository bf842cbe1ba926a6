"""Find a registered task or mixture by name, with "did you mean" suggestions."""

from __future__ import annotations

from typing import List


def get_provider(name: str):
    """The seqio Task or Mixture called `name` (registers the tasks first)."""
    import seqio

    import multilingual_t0.tasks  # noqa: F401  registers

    try:
        return seqio.get_mixture_or_task(name)
    except ValueError as err:
        from multilingual_t0.errors import UnknownNameError

        known = list(seqio.TaskRegistry.names()) + list(seqio.MixtureRegistry.names())
        raise UnknownNameError("task or mixture", name, known) from err


def leaf_tasks(name: str) -> List:
    """The tasks of a mixture (recursively), or [task] for a task."""
    import seqio

    provider = get_provider(name)
    if isinstance(provider, seqio.Mixture):
        return list(provider.tasks)
    return [provider]
