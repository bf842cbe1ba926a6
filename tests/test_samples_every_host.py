"""The shipped samples give every training task examples on every host.

A split stored as one file is read by host i of n as its records with index % n == i
(sources/reading.py); a task whose template renders none of a host's records yields nothing there, so a
multi-host run of the demo or the tests on the samples would silently drop that task on that host. Every
task of the T0 training mixture and of the xP3 one must yield at least 2 examples on every host, for 2, 3
and 4 hosts, and the hosts together must yield exactly the examples of a single-host read (each record on
one host). Read in Python (no tf.data), file order. tests/fixtures/samples_every_host.py prints the
shortfalls; tests/fixtures/grow_samples.py made the records that remove them.
"""

import collections

import pytest

MIXTURES = {"mt5_d4_gpt_sglue_train": 464, "mt5_xp3_train": 46}
HOST_COUNTS = (2, 3, 4)
MIN_EXAMPLES = 2


def _key(example):
    return example["inputs"], example["targets"]


@pytest.mark.parametrize("mixture", sorted(MIXTURES))
def test_every_task_has_examples_on_every_host(registered, mixture):
    import seqio

    tasks = list(seqio.get_mixture_or_task(mixture).tasks)
    assert len(tasks) == MIXTURES[mixture]
    short = []
    for task in tasks:
        whole = collections.Counter(_key(e) for e in task.source.iter_examples("train", 0, 1, shuffle=False))
        for n in HOST_COUNTS:
            union = collections.Counter()
            for i in range(n):
                host = [_key(e) for e in task.source.iter_examples("train", i, n, shuffle=False)]
                union.update(host)
                if len(host) < MIN_EXAMPLES:
                    short.append(f"{task.name} n={n} host={i}: {len(host)} examples")
            assert union == whole, f"{task.name}: the {n} hosts' examples are not the single-host ones"
    assert not short, f"{len(short)} (task, host) pairs with fewer than {MIN_EXAMPLES} examples:\n" + "\n".join(short)
