"""A local Google Cloud Storage API for tests and benchmarks: `gcp-storage-emulator` (PyPI) on
127.0.0.1 at a free port, in its own process, in memory. gcsfs (and so fileio) talks to it when
STORAGE_EMULATOR_HOST points at it."""

import contextlib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_emulator(timeout: float = 30.0):
    """Yields the emulator's URL (for STORAGE_EMULATOR_HOST); stops it on exit."""
    port = free_port()
    # Its log goes to a file: a pipe nobody reads fills up with the tracebacks it prints for every request a
    # client drops (gcsfs does), and the server then blocks writing the next one, hanging every later request.
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1",
                             "--port", str(port), "--in-memory", "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(url + "/storage/v1/b?project=test", timeout=1).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"gcp-storage-emulator did not start on {url}: "
                                       f"{log.read().decode(errors='replace')[-2000:]}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def make_bucket(name: str) -> str:
    """Creates bucket `name` through fileio's gcsfs; returns `gs://name`."""
    from multilingual_t0.sources import fileio

    fs, _ = fileio.filesystem(f"gs://{name}")
    if not fs.exists(name):
        fs.mkdir(name)
    return f"gs://{name}"


def upload_tree(local_dir: str, url: str) -> None:
    """Copies every file below local_dir to url (gs://bucket/prefix), keeping relative paths."""
    import os

    from multilingual_t0.sources import fileio

    for folder, _, files in os.walk(local_dir):
        for name in files:
            src = os.path.join(folder, name)
            rel = os.path.relpath(src, local_dir).replace(os.sep, "/")
            with open(src, "rb") as fin, fileio.open(f"{url}/{rel}", "wb") as fout:
                fout.write(fin.read())
