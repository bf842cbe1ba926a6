"""Python work called from tf.data threads, stopped before the interpreter shuts down.

tf.data runs our generators and numpy_functions on its own threads. When the process exits while one of
those calls is running, the interpreter, finalizing, destroys the pipeline's iterator (holding the
GIL), and the iterator waits for the call; the call cannot get the GIL back (a thread that asks for it
during finalization is stopped), so the process hangs after its work is done. Measured: a 464-task
mixture's benchmark process hung at exit in about 1 run of 8.

So every such call goes through `CALLS`: at exit (atexit runs before finalization) new calls return
at once (generators end, `closing` is True) and the exit waits up to DRAIN_SECONDS for running calls
to finish and for tf.data's read-ahead to settle.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from typing import Iterable, Iterator, TypeVar

DRAIN_SECONDS = 10.0
QUIET_SECONDS = 0.05  # no call started or running for this long: the pipelines have stopped pulling

T = TypeVar("T")


class PythonCalls:
    """Counts the Python calls tf.data threads are running; `drain` stops new ones and waits."""

    def __init__(self) -> None:
        self.closing = False
        self._lock = threading.Lock()
        self._running = 0
        self._last = 0.0

    @contextlib.contextmanager
    def call(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
            self._last = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._last = time.monotonic()

    def items(self, iterable: Iterable[T]) -> Iterator[T]:
        """`iterable`'s items, each produced as one counted call; ends early once closing."""
        it = iter(iterable)
        end = object()
        while not self.closing:
            with self.call():
                item = next(it, end)
            if item is end:
                return
            yield item

    def drain(self, timeout: float = DRAIN_SECONDS) -> bool:
        """Stop new calls and wait until none runs or started for QUIET_SECONDS; False on timeout."""
        self.closing = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                quiet = self._running == 0 and time.monotonic() - self._last > QUIET_SECONDS
            if quiet:
                return True
            time.sleep(0.01)
        return False


CALLS = PythonCalls()
atexit.register(CALLS.drain)
