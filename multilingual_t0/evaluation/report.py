"""Zero-shot results report: T5X eval output -> accuracy per prompt, median per (dataset, language), mean
over languages (the T0 / mT0 protocol), as a Report that render.py writes as markdown, CSV and a PNG chart.

`build_report` puts the steps together: read the eval directory (results.py: accuracies and the records each
stands on), keep the paper's prompts when asked and aggregate (summary.py), put reference numbers beside
(summary.py: a CSV or a model of the mT0 paper), and, given `trained_on` (a training mixture or its run's
config.gin), mark each dataset whose task cluster the mixture trained on as not zero-shot (contamination.py).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Dict, List, Optional, Tuple

from multilingual_t0.errors import DataNotFoundError
from multilingual_t0.evaluation import contamination
from multilingual_t0.evaluation.results import PromptResult, is_file, open_file, read_eval_dir, results_dir
from multilingual_t0.evaluation.summary import (PROMPT_SETS, SummaryRow, aggregate, attach_reference,
                                                chance_levels, load_reference, protocol_notes, record_notes,
                                                reference_notes, select_paper_prompts)
from multilingual_t0.sources import fileio


@dataclasses.dataclass
class Report:
    prompts: List[PromptResult]
    languages: List[SummaryRow]  # one per (dataset, language)
    datasets: List[SummaryRow]  # one per dataset (language == "mean")
    notes: List[str]  # what was skipped, mixed steps, unmatched reference rows, protocol differences
    chance: Dict[str, float] = dataclasses.field(default_factory=dict)  # dataset -> chance accuracy (%)
    reference_label: Optional[str] = None
    trained_on: Optional[str] = None  # the training mixture checked for contamination
    not_zero_shot: Dict[str, Tuple[str, ...]] = dataclasses.field(default_factory=dict)  # dataset -> tasks

    def zero_shot(self, dataset: str) -> Optional[bool]:
        """False when the training mixture trained on the dataset's cluster; None when nothing was checked."""
        return None if self.trained_on is None else dataset not in self.not_zero_shot

    def to_json(self) -> dict:
        def row(r):
            return {**dataclasses.asdict(r), "diff": r.diff, "chance": self.chance.get(r.dataset),
                    "zero_shot": self.zero_shot(r.dataset)}

        return {"datasets": [row(r) for r in self.datasets], "languages": [row(r) for r in self.languages],
                "prompts": [dataclasses.asdict(p) for p in self.prompts], "notes": list(self.notes),
                "reference": self.reference_label, "trained_on": self.trained_on,
                "not_zero_shot": {d: list(t) for d, t in self.not_zero_shot.items()}}


def trained_on_mixture(value: str) -> str:
    """`--trained-on`: a training mixture name, or a run's config.gin / MODEL_DIR / checkpoint directory
    (its MIXTURE_OR_TASK_NAME)."""
    if not (os.sep in value or value.endswith(".gin") or is_file(fileio.join(value, contamination.CONFIG_GIN))):
        return value
    tried = contamination.config_candidates(value)
    for path in tried:
        if is_file(path):
            with open_file(path) as f:
                return contamination.mixture_from_config(f.read(), path)
    raise DataNotFoundError(f"the training run's {contamination.CONFIG_GIN}", tried,
                            "pass the MODEL_DIR (or a checkpoint in it) of a t5x/train.py run, or the mixture name")


def build_report(eval_dir: str, step: Optional[int] = None, reference: Optional[str] = None,
                 prompts: str = "all", trained_on: Optional[str] = None) -> Report:
    """Reads a T5X eval output directory into a Report: `reference` a CSV or a paper model (`mt0-13b-p3`),
    `prompts` "all" or "paper", `trained_on` a training mixture (or its run's config.gin) to check."""
    if prompts not in PROMPT_SETS:
        raise ValueError(f"prompts {prompts!r} is not one of {', '.join(PROMPT_SETS)}")
    results, notes = read_eval_dir(eval_dir, step)
    if prompts == "paper":
        results, dropped = select_paper_prompts(results)
        notes += dropped
    if not results:
        raise ValueError(f"no accuracy found in {results_dir(eval_dir)}: " + "; ".join(notes))
    notes += protocol_notes(results) + record_notes(results)
    languages, datasets = aggregate(results)
    report = Report(results, languages, datasets, notes, chance_levels(r.dataset for r in datasets))
    if reference:
        ref, report.reference_label = load_reference(reference)
        report.languages, report.datasets = attach_reference(languages, ref), attach_reference(datasets, ref)
        notes += reference_notes(languages, datasets, ref)
    if trained_on:
        report.trained_on = trained_on_mixture(trained_on)
        report.not_zero_shot = contamination.not_zero_shot([r.dataset for r in datasets], report.trained_on)
    return report
