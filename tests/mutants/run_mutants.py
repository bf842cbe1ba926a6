"""Break the code on purpose, one change at a time, and check that the tests notice.

Each mutant is a small table of exact text edits (file, old text, new text) applied to a temporary copy of
the repository; then the tests that should catch it run against the copy. A mutant is "caught" when at
least one of those tests fails. An edit whose old text is no longer in the file is reported as
"does not apply" (the code moved: update the table), never as caught.

    python tests/mutants/run_mutants.py            # every mutant
    python tests/mutants/run_mutants.py M3 M8      # some
    python tests/mutants/run_mutants.py --list     # what each one breaks
    python tests/mutants/run_mutants.py --json out.json

Needs the project's environment (run it with .venv/bin/python). It takes several minutes (each mutant imports
TensorFlow and registers the tasks once), so CI does not run it; run it after changing the tests.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Sequence, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclasses.dataclass(frozen=True)
class Edit:
    path: str  # relative to the repository; a glob edits every match
    old: str
    new: str


@dataclasses.dataclass(frozen=True)
class Mutant:
    key: str
    breaks: str
    edits: Tuple[Edit, ...]
    tests: Tuple[str, ...]  # pytest arguments (files, node ids, -k expressions)
    note: str = ""


MUTANTS = (
    Mutant("M1", "mT5 model gins lose vocab_size = 250112 (checkpoint shape)",
           (Edit("configs/models/mt5_*.gin", "network.T5Config.vocab_size = 250112\n", ""),),
           ("tests/test_configs.py",), note="issue 9's config tests"),
    Mutant("M2", "the blacklist is ignored (mixtures and the held-out eval mixture)",
           (Edit("multilingual_t0/registry/specs.py",
                 "    return spec.name in blacklist or spec.base_task in blacklist\n", "    return False\n"),),
           ("tests/test_registration.py",)),
    Mutant("M3", "export restarts every .partial from zero and redoes finished tasks",
           (Edit("multilingual_t0/jobs/export.py",
                 "done = _complete_lines(partial) if fileio.exists(partial) else 0", "done = 0"),
            Edit("multilingual_t0/jobs/export.py", 'with fileio.open(partial, "a") as f:',
                 'with fileio.open(partial, "w") as f:'),
            Edit("multilingual_t0/jobs/export.py", "continue  # finished in an earlier run", "pass")),
           ("tests/test_cli.py", "-k", "export")),
    Mutant("M4", "prompted tasks lose the class-id postprocessor and every predict metric",
           (Edit("multilingual_t0/registry/prompted.py",
                 "postprocess_fn=metrics.postprocessor(dataset.dataset, dataset.subset, template),",
                 "postprocess_fn=metrics.strip,"),
            Edit("multilingual_t0/registry/prompted.py",
                 "metric_fns=metrics.metric_fns(dataset.dataset, dataset.subset, template),", "metric_fns=[],")),
           ("tests/test_metrics.py",)),
    Mutant("M5", "rank classification always passes num_classes=None",
           (Edit("multilingual_t0/pipeline/metrics.py", "num_classes=len(choices) if choices else None",
                 "num_classes=None"),),
           ("tests/test_score_eval.py",)),
    Mutant("M6", "MT0_DATA_SOURCE=auto always means the Hub",
           (Edit("multilingual_t0/settings.py", 'return "mirror" if self.data_dir else published',
                 'return published'),),
           ("tests/test_sources.py", "-k", "auto")),
    Mutant("M7", "mt0 download never skips complete files",
           (Edit("multilingual_t0/sources/download.py", "        if not is_complete(base):", "        if True:"),),
           ("tests/test_cli.py", "-k", "download")),
    Mutant("M8", "choice is seeded with hash(task) ^ index (differs per process)",
           (Edit("multilingual_t0/prompting/renderer.py", 'random.Random(zlib.crc32(f"{self.task}:{index}".encode()))',
                 "random.Random(hash(self.task) ^ index)"),),
           ("tests/test_prompts.py", "-k", "choice")),
    Mutant("M9", "shard_info is ignored by every streamed source (prompted, records, mC4 documents)",
           (Edit("multilingual_t0/pipeline/streamed_source.py",
                 "index, count = (shard_info.index, shard_info.num_shards) if shard_info else (0, 1)",
                 "index, count = 0, 1"),),
           ("tests", "-k", "shard or host"), note="issue 11's tests"),
    Mutant("M10", "the prompted source yields nothing on its second pass",
           (Edit("multilingual_t0/pipeline/streamed_source.py",
                 "it = examples if epoch[0] == 0 else self.iter_examples(split, index, count, **order, epoch=epoch[0])",
                 "it = examples if epoch[0] == 0 else iter(())"),),
           ("tests", "-k", "epoch or second_pass or repeat"), note="issue 11's tests"),
    Mutant("M11", "LM-adaptation validation reads the train file",
           (Edit("multilingual_t0/pipeline/mc4_source.py", "return locate(mc4_split(self.language.code, split))",
                 'return locate(mc4_split(self.language.code, "train"))'),),
           ("tests/test_lm_adapt.py", "-k", "own_documents or not_the_train"),),
    Mutant("M12", "the fused mixture draws tasks with other random numbers than seqio's",
           (Edit("multilingual_t0/pipeline/task_draws.py", "s0, s1 = seeds[:, 0], seeds[:, 1]",
                 "s1, s0 = seeds[:, 0], seeds[:, 1]"),),
           ("tests/test_streamed_mixture.py",), note="issue 13's tests"),
    Mutant("M13", "the fused mixture repeats tasks of a finite mixture (num_epochs ignored)",
           (Edit("multilingual_t0/pipeline/streamed_mixture.py",
                 "(self.num_epochs is not None and self.epoch + 1 >= self.num_epochs)", "False"),),
           ("tests/test_streamed_mixture.py",)),
    Mutant("M14", "nothing stops tf.data's Python calls at exit",
           (Edit("multilingual_t0/pipeline/python_calls.py", "atexit.register(CALLS.drain)\n", ""),),
           ("tests/test_python_calls.py",)),
    Mutant("M15", "a bottom-layer module imports the registry (an upward import)",
           (Edit("multilingual_t0/catalog/datasets.py", "from multilingual_t0.errors import UnknownNameError\n",
                 "from multilingual_t0.errors import UnknownNameError\nfrom multilingual_t0.registry import naming\n"),),
           ("tests/test_layers.py",), note="issue 19's tests"),
    Mutant("M16", "MT0_SHUFFLE_BUFFER is read but ignored",
           (Edit("multilingual_t0/settings.py",
                 'shuffle_buffer=_positive("MT0_SHUFFLE_BUFFER", get("MT0_SHUFFLE_BUFFER"), DEFAULT_SHUFFLE_BUFFER),',
                 "shuffle_buffer=DEFAULT_SHUFFLE_BUFFER,"),),
           ("tests/test_settings.py",)),
    Mutant("M17", "large files are read whole again (no virtual shards)",
           (Edit("multilingual_t0/sources/reading.py",
                 '    if not any(f.endswith((".jsonl", ".parquet")) and _cuttable(f, fileio.size(f)) for f in files):\n',
                 "    if True:\n"),),
           ("tests/test_virtual_shards.py",), note="issue 20's tests"),
    Mutant("M18", "mt0 check reads the first records only (a truncated file passes)",
           (Edit("multilingual_t0/jobs/check.py",
                 "result.unverified = sum(not _verified(path, fileio.size(path)) for path in located.files)",
                 "result.unverified = 0"),),
           ("tests/test_check.py",)),
    Mutant("M19", "a restored feed does not drop the rows of its group already returned (repeats them)",
           (Edit("multilingual_t0/pipeline/resumable_feed.py",
                 'self.groups[0].taken = saved["skip_rows"]', "pass"),),
           ("tests/test_resumable_feed.py",)),
    Mutant("M20", "every epoch of a task is read in epoch 0's shuffled order",
           (Edit("multilingual_t0/sources/reading.py",
                 'self.key = f"{resolve_seed(seed) if shuffle else seed}:{epoch}:{shard_index}:{num_shards}"',
                 'self.key = f"{resolve_seed(seed) if shuffle else seed}:0:{shard_index}:{num_shards}"'),),
           ("tests/test_resumable_feed.py", "tests/test_resumable_reading.py")),
    Mutant("M21", "a restored reader starts its window over (the emitted part is read again)",
           (Edit("multilingual_t0/sources/reading.py",
                 'del self._window[len(self._window) - start["emitted"]:]', "pass"),),
           ("tests/test_resumable_reading.py",)),
    Mutant("M22", "a task without examples on a host ends the mixture quietly again",
           (Edit("multilingual_t0/pipeline/streamed_mixture.py",
                 "raise no_examples_error(self.task.name, self.split, self.shard, self.epoch)", "return None"),),
           ("tests/test_resumable_feed.py",)),
    Mutant("M23", "eval_score.gin fixes T0's lengths again (inputs 1024, targets 256)",
           (Edit("configs/runs/eval_score.gin", "TASK_FEATURE_LENGTHS = None",
                 "TASK_FEATURE_LENGTHS = {'inputs': 1024, 'targets': 256}"),),
           ("tests/test_score_eval.py", "-k", "whole"), note="issue 26's tests"),
    Mutant("M24", "the score-eval tasks accept lengths that cut an example (seqio cuts it silently)",
           (Edit("multilingual_t0/pipeline/preprocessors.py",
                 "    return [rank_classification] + prompted_chain() + [functools.partial(refuse_truncation, task=task)]",
                 "    return [rank_classification] + prompted_chain()"),),
           ("tests/test_score_eval.py", "-k", "cut")),
    Mutant("M25", "both: a long choice is silently scored on its first 256 tokens, without EOS",
           (Edit("configs/runs/eval_score.gin", "TASK_FEATURE_LENGTHS = None",
                 "TASK_FEATURE_LENGTHS = {'inputs': 1024, 'targets': 256}"),
            Edit("multilingual_t0/pipeline/preprocessors.py",
                 "    return [rank_classification] + prompted_chain() + [functools.partial(refuse_truncation, task=task)]",
                 "    return [rank_classification] + prompted_chain()")),
           ("tests/test_score_eval.py", "-k", "whole")),
    Mutant("M26", "the rank-classification metric reports no record counts",
           (Edit("multilingual_t0/pipeline/metrics.py", "        return {**result, **record_counts(targets)}",
                 "        return result"),),
           ("tests/test_score_eval.py", "tests/test_report.py")),
    Mutant("M27", "a record whose answer is more than one of its choices is dropped again",
           (Edit("multilingual_t0/prompting/renderer.py",
                 "if self.require_answer_among_choices and targets not in choices:",
                 "if self.require_answer_among_choices and choices.count(targets) != 1:"),),
           ("tests/test_score_eval.py", "-k", "counted or multi_choice")),
    Mutant("M28", "mt0 report drops the record counts it reads",
           (Edit("multilingual_t0/evaluation/results.py", "    if not counts:\n        return result\n",
                 "    return result\n"),),
           ("tests/test_report.py",)),
    Mutant("M29", "mt0 convert to-hf writes transformers 5's tie_word_embeddings: true",
           (Edit("multilingual_t0/convert/to_hf.py", '    fields["tie_word_embeddings"] = tied\n', ""),),
           ("tests/test_convert.py", "-k", "untied or transformers_4")),
    Mutant("M30", "prefix-LM split points are drawn without the epoch (every epoch cuts a document alike)",
           (Edit("multilingual_t0/pipeline/prefix_lm.py", 'text = f"{int(seed)}:{stream}:{int(epoch)}:{int(index)}"',
                 'text = f"{int(seed)}:{stream}:0:{int(index)}"'),),
           ("tests/test_prefix_lm.py", "tests/test_lm_adapt_feed.py"), note="issue 25's tests"),
    Mutant("M31", "a saved stream forgets how many of a record's examples were returned (a restore repeats them)",
           (Edit("multilingual_t0/pipeline/streamed_source.py",
                 'return {"reader": self._records.at, "skip": self._from_record}',
                 'return {"reader": self._records.at, "skip": 0}'),),
           ("tests/test_lm_adapt_feed.py", "tests/test_resumable_feed.py")),
    Mutant("M32", "a TFRecord position is ignored on restore (the file is read again from its start)",
           (Edit("multilingual_t0/sources/reading.py", "count, offset = position or (0, 0)", "count, offset = 0, 0"),),
           ("tests/test_lm_adapt_feed.py", "-k", "tfds")),
    Mutant("M33", "a byte range that starts exactly on a line start skips that line",
           (Edit("multilingual_t0/sources/files.py", "            buf_start = start - 1\n",
                 "            buf_start = start\n"),),
           ("tests/test_virtual_shards.py", "-k", "line_starts or shard_boundary"), note="issue 26's tests"),
    Mutant("M34", "hosts reading in order each read every virtual shard",
           (Edit("multilingual_t0/sources/reading.py", "        mine = shards[shard_index::num_shards]\n",
                 "        mine = shards\n"),),
           ("tests/test_virtual_shards.py", "tests/test_gcs.py", "-k", "in_order or order_cover")),
    Mutant("M35", "the feed asks a never-drawn (rate-0) task for its position (a Hub-stream task breaks it)",
           (Edit("multilingual_t0/pipeline/resumable_feed.py", '"tasks": [s.state() if k in drawn else None for k, s in',
                 '"tasks": [s.state() for k, s in'),),
           ("tests/test_zero_rate_tasks.py",)),
    Mutant("M36", "a shuffled Hub stream gives every epoch the same order",
           (Edit("multilingual_t0/sources/located.py", "                stream.set_epoch(epoch)\n", ""),),
           ("tests/test_hub_layouts.py", "-k", "epoch")),
    Mutant("M37", "mt0 check --full reads only the first records",
           (Edit("multilingual_t0/jobs/check.py", "limit = None if full else num_examples * RECORDS_PER_EXAMPLE",
                 "limit = num_examples * RECORDS_PER_EXAMPLE"),),
           ("tests/test_check.py", "-k", "full")),
    Mutant("M38", "an unknown on/off spelling is taken as off again",
           (Edit("multilingual_t0/settings.py", "    if text in FALSE_WORDS:\n        return False\n",
                 "    if True:\n        return False\n"),),
           ("tests/test_settings.py",)),
)


def copy_repo(dest: str) -> None:
    ignore = shutil.ignore_patterns(".git", ".venv", ".cache", "__pycache__", "*.pyc", ".pytest_cache")
    shutil.copytree(REPO, dest, ignore=ignore, dirs_exist_ok=True)


def apply(mutant: Mutant, root: str) -> List[str]:
    """Applies the edits; returns the problems (edits that no longer match), empty when all applied."""
    problems = []
    for edit in mutant.edits:
        paths = sorted(glob.glob(os.path.join(root, edit.path)))
        if not paths:
            problems.append(f"{edit.path}: no such file")
        for path in paths:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            if edit.old not in text:
                problems.append(f"{os.path.relpath(path, root)}: text not found: {edit.old.strip()!r}")
                continue
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace(edit.old, edit.new))
    return problems


def run_tests(root: str, args: Sequence[str]) -> Tuple[int, List[str], str]:
    """(pytest exit code, failed test ids, tail of the output)."""
    env = dict(os.environ, PYTHONPATH=root, PYTHONDONTWRITEBYTECODE="1", TF_CPP_MIN_LOG_LEVEL="3")
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "-rf", *args]
    out = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    failed = re.findall(r"^FAILED (\S+)", out.stdout, flags=re.M)
    return out.returncode, failed, "\n".join(out.stdout.strip().splitlines()[-3:])


def check(mutant: Mutant) -> Dict:
    start = time.time()
    root = tempfile.mkdtemp(prefix=f"mt0_mutant_{mutant.key}_")
    try:
        copy_repo(root)
        problems = apply(mutant, root)
        if problems:
            return {"mutant": mutant.key, "status": "does not apply", "problems": problems}
        code, failed, tail = run_tests(root, mutant.tests)
        # pytest: 0 all passed, 1 some failed, 5 no test selected, others: errors
        status = {0: "MISSED", 1: "caught", 5: "MISSED (no test selected)"}.get(code, f"error (pytest exit {code})")
        return {"mutant": mutant.key, "status": status, "failed": failed, "tail": tail,
                "seconds": round(time.time() - start)}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("keys", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and exit")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    args = parser.parse_args(argv)
    known = {m.key: m for m in MUTANTS}
    unknown = [k for k in args.keys if k not in known]
    if unknown:
        parser.error(f"unknown mutant(s) {unknown}; known: {', '.join(known)}")
    chosen = [known[k] for k in args.keys] if args.keys else list(MUTANTS)
    if args.list:
        for m in chosen:
            print(f"{m.key:4} {m.breaks}  [tests: {' '.join(m.tests)}]{'  (' + m.note + ')' if m.note else ''}")
        return 0
    results = []
    for m in chosen:
        print(f"{m.key}: {m.breaks} ...", file=sys.stderr, flush=True)
        result = check(m)
        results.append(result)
        shown = result.get("failed") or result.get("problems") or [result.get("tail", "")]
        print(f"{m.key:4} {result['status']:10} {len(result.get('failed', []))} failed "
              f"({result.get('seconds', 0)} s): {'; '.join(shown[:4])}{' ...' if len(shown) > 4 else ''}",
              flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0 if all(r["status"] == "caught" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
