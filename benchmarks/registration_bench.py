"""Registration cost: `import multilingual_t0.tasks` minus importing seqio + t5 + promptsource.

Each trial is a fresh interpreter; the baseline imports are timed in the same process, just before.
Target: at most 1.0 s on top of the baseline.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

TARGET_S = 1.0
_TRIAL = r"""
import json, time
t0 = time.perf_counter()
import seqio, t5, promptsource.templates
t1 = time.perf_counter()
import multilingual_t0.tasks
t2 = time.perf_counter()
print(json.dumps({"baseline": t1 - t0, "registration": t2 - t1,
                  "tasks": len(seqio.TaskRegistry.names()), "mixtures": len(seqio.MixtureRegistry.names())}))
"""


def run(trials: int = 5) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    env.setdefault("MT0_VOCAB", os.path.join(tempfile.gettempdir(), "unused.model"))  # never read
    results = []
    for _ in range(trials):
        out = subprocess.run([sys.executable, "-c", _TRIAL], env=env, capture_output=True, text=True,
                             check=True)
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    registration = statistics.median(r["registration"] for r in results)
    baseline = statistics.median(r["baseline"] for r in results)
    return {
        "name": "registration",
        "registration_s": registration, "baseline_import_s": baseline,
        "ratio_to_baseline": registration / baseline,
        "tasks": results[0]["tasks"], "mixtures": results[0]["mixtures"],
        "target": f"<= {TARGET_S} s", "meets_target": registration <= TARGET_S,
        "summary": (f"import multilingual_t0.tasks adds {registration:.3f} s (median of {trials}) on top of "
                    f"{baseline:.2f} s for seqio+t5+promptsource (x{registration / baseline:.3f}); "
                    f"{results[0]['tasks']} tasks, {results[0]['mixtures']} mixtures; target <= {TARGET_S} s"),
    }


if __name__ == "__main__":
    result = run()
    print(result["summary"])
    sys.exit(0 if result["meets_target"] else 1)
