"""Python calls from tf.data threads stop before the interpreter shuts down, so a process whose input
pipeline is still reading ahead exits instead of hanging."""

import os
import subprocess
import sys
import textwrap
import threading
import time

from multilingual_t0.pipeline.python_calls import PythonCalls


def test_items_end_once_closing():
    calls = PythonCalls()
    items = calls.items(range(10))
    assert [next(items), next(items)] == [0, 1]
    calls.closing = True
    assert list(items) == []


def test_drain_waits_for_a_running_call_and_then_for_quiet():
    calls = PythonCalls()
    finished = []

    def work():
        with calls.call():
            time.sleep(0.3)
            finished.append(time.monotonic())

    thread = threading.Thread(target=work)
    thread.start()
    time.sleep(0.05)
    assert calls.drain(timeout=5)
    assert finished and time.monotonic() >= finished[0]
    thread.join()


def test_drain_gives_up_after_its_timeout():
    calls = PythonCalls()
    release = threading.Event()

    def stuck():
        with calls.call():
            release.wait(5)

    thread = threading.Thread(target=stuck)
    thread.start()
    time.sleep(0.05)
    assert calls.drain(timeout=0.2) is False
    release.set()
    thread.join()


_EXIT_WHILE_READING = textwrap.dedent("""
    import os, sys, time
    import seqio
    import multilingual_t0.tasks
    from multilingual_t0.pipeline import prompted_source

    # Slow reading: when the script ends, tf.data's read-ahead is inside a Python call for certain.
    read = prompted_source.PromptedDataSource.iter_examples
    def slow(self, *args, **kwargs):
        for example in read(self, *args, **kwargs):
            time.sleep(0.02)
            yield example
    prompted_source.PromptedDataSource.iter_examples = slow

    name = sys.argv[1]
    ds = seqio.get_mixture_or_task(name).get_dataset({"inputs": 64, "targets": 16}, split="train",
                                                     shuffle=False, num_epochs=None)
    it = ds.as_numpy_iterator()
    next(it)
    print("pulled", flush=True)
""")


def _exits(name: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _EXIT_WHILE_READING, name], env=env, capture_output=True,
                          text=True, timeout=120)


def test_process_exits_while_the_pipeline_reads_ahead():
    env = dict(os.environ, MT0_DATA_SOURCE="samples", TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("MT0_MIXTURE_FEED", None)
    for name in ("mt5_sglue_train", "super_glue_rte_GPT_3_style"):  # the fused mixture; one task's source
        started = time.monotonic()
        done = _exits(name, env)  # raises TimeoutExpired when it hangs
        assert done.returncode == 0, done.stderr[-2000:]
        assert "pulled" in done.stdout
        assert time.monotonic() - started < 100
