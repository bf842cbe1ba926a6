"""Writing a Report: markdown (`to_markdown`), `prompts.csv` and `summary.csv` (`write_csvs`), and the PNG
bar chart (`figure`, `plot`; matplotlib is imported only when a chart is drawn); `write_report` writes all four
into one directory (local or gs://)."""

from __future__ import annotations

import csv
import math
from typing import Dict, List, Optional, Sequence, Tuple

from multilingual_t0.evaluation.contamination import by_dataset, dataset_cluster
from multilingual_t0.evaluation.report import Report
from multilingual_t0.evaluation.results import make_dirs, open_file
from multilingual_t0.evaluation.summary import SUMMARY_COLUMNS, SummaryRow
from multilingual_t0.sources import fileio

TITLE = "Zero-shot accuracy: median over prompts, mean over languages"


# ---- markdown ----

def _num(value: Optional[float], signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> List[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(r) + " |" for r in rows]


def _blank(value: Optional[int]) -> str:
    return "" if value is None else str(value)


def _records_cell(row: SummaryRow) -> str:
    """Records scored: one number, or fewest-most when the prompts scored different numbers; '' if not known."""
    if row.records_low is None:
        return ""
    if row.records_low == row.records_high:
        return f"{row.records_high:,}"
    return f"{row.records_low:,}\u2013{row.records_high:,}"


def _zero_shot_cell(report: Report, dataset: str) -> str:
    return {None: "", True: "yes", False: "**no**"}[report.zero_shot(dataset)]


def _contamination_lines(report: Report) -> List[str]:
    """Datasets grouped by the training tasks that make them not zero-shot, each task named."""
    groups: Dict[Tuple[str, ...], List[str]] = {}
    for dataset, tasks in report.not_zero_shot.items():
        groups.setdefault(tasks, []).append(dataset)
    lines = []
    for tasks, datasets in groups.items():
        clusters = sorted({dataset_cluster(d) or "?" for d in datasets})
        sources = ", ".join(f"{d} ({n} prompt{'s' if n > 1 else ''})" for d, n in by_dataset(tasks).items())
        lines.append(f"- {', '.join(datasets)} (cluster {', '.join(clusters)}): trained on {sources}: "
                     + ", ".join(f"`{t}`" for t in tasks))
    return lines


def to_markdown(report: Report) -> str:
    with_ref = any(r.reference is not None for r in report.languages + report.datasets)
    extra = ["reference", "diff"] if with_ref else []
    checked = report.trained_on is not None
    repeated = any(r.records_answer_repeated for r in report.languages)

    def ref_cells(r: SummaryRow) -> List[str]:
        return [_num(r.reference), _num(r.diff, signed=True)] if with_ref else []

    def repeated_cell(r: SummaryRow) -> List[str]:
        return [_blank(r.records_answer_repeated)] if repeated else []

    steps = sorted({p.step for p in report.prompts})
    lines = ["# Zero-shot accuracy (rank classification)", "",
             f"{len(report.prompts)} prompts; step {', '.join(map(str, steps))}. Accuracy in percent: median "
             "over prompts per (dataset, language), then mean over languages; chance = a uniform guess. Records: "
             "how many each prompt scored (fewest\u2013most over the prompts; a dataset's, summed over its languages)"
             + ("; answer repeated: records whose answer is more than one of their choices (most over the prompts)."
                if repeated else ".")]
    if report.reference_label:
        lines += ["", f"Reference: {report.reference_label}; diff = ours - reference."]
    if checked:
        flagged = ", ".join(report.not_zero_shot) or "none"
        lines += ["", f"Trained on `{report.trained_on}`: **not zero-shot** on {flagged}."
                  if report.not_zero_shot else f"Trained on `{report.trained_on}`: zero-shot on every dataset below."]
    lines += ["", "## Datasets", ""]
    lines += _table(["dataset", "languages", "prompts", "records", "accuracy", "min language", "max language"]
                    + (["answer repeated"] if repeated else []) + extra + ["chance"] + (["zero-shot"] if checked else []),
                    [[r.dataset, str(sum(1 for x in report.languages if x.dataset == r.dataset)), str(r.prompts),
                      _records_cell(r), _num(r.accuracy), _num(r.low), _num(r.high)] + repeated_cell(r) + ref_cells(r)
                     + [_num(report.chance.get(r.dataset))] + ([_zero_shot_cell(report, r.dataset)] if checked else [])
                     for r in report.datasets])
    lines += ["", "## Languages", ""]
    lines += _table(["dataset", "language", "prompts", "records", "median", "min prompt", "max prompt"]
                    + (["answer repeated"] if repeated else []) + extra,
                    [[r.dataset, r.language, str(r.prompts), _records_cell(r), _num(r.accuracy), _num(r.low),
                      _num(r.high)] + repeated_cell(r) + ref_cells(r) for r in report.languages])
    if report.not_zero_shot:
        lines += ["", "## Not zero-shot", "",
                  f"`{report.trained_on}` trained on the task cluster of these datasets (contamination.py; "
                  "data/task_clusters.csv):", ""] + _contamination_lines(report)
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report.notes]
    return "\n".join(lines) + "\n"


# ---- CSV ----

def write_csvs(report: Report, out_dir: str) -> Tuple[str, str]:
    prompts_path, summary_path = fileio.join(out_dir, "prompts.csv"), fileio.join(out_dir, "summary.csv")
    with open_file(prompts_path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(["dataset", "language", "template", "task", "step", "accuracy", "source", "records",
                         "records_answer_repeated"])
        for p in sorted(report.prompts, key=lambda p: (p.dataset, p.language, p.template)):
            writer.writerow([p.dataset, p.language, p.template, p.task, p.step, f"{p.accuracy:.4f}", p.source,
                             _blank(p.records), _blank(p.records_answer_repeated)])
    with open_file(summary_path, "w") as f:
        writer = csv.writer(f)
        writer.writerow(list(SUMMARY_COLUMNS) + ["min", "max", "reference", "diff", "chance", "zero_shot",
                                                 "records_min", "records_max", "records_answer_repeated"])
        for r in report.datasets + report.languages:
            chance, zero_shot = report.chance.get(r.dataset), report.zero_shot(r.dataset)
            writer.writerow([r.dataset, r.language, r.prompts, f"{r.accuracy:.4f}", f"{r.low:.4f}", f"{r.high:.4f}",
                             "" if r.reference is None else f"{r.reference:.4f}",
                             "" if r.diff is None else f"{r.diff:.4f}",
                             "" if chance is None else f"{chance:.4f}",
                             "" if zero_shot is None else ("yes" if zero_shot else "no"),
                             _blank(r.records_low), _blank(r.records_high), _blank(r.records_answer_repeated)])
    return prompts_path, summary_path


# ---- the chart ----

def figure(report: Report):
    """The chart: per dataset a bar for ours and (when compared) one for the reference side by side, a dot
    per language median on each, a dashed line at chance; datasets not zero-shot are marked."""
    import matplotlib  # lazily: only drawing a chart needs it

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    names = [r.dataset for r in report.datasets]
    with_ref = any(r.reference is not None for r in report.datasets)
    width = 0.38 if with_ref else 0.7
    fig = Figure(figsize=(max(7.0, 1.0 * len(names) + 2.5), 5.0), layout="constrained")
    ax = fig.subplots()
    ours_x = [i - width / 2 if with_ref else i for i in range(len(names))]
    ax.bar(ours_x, [r.accuracy for r in report.datasets], width, color="#4c72b0", label="ours (mean)")
    for x, name in zip(ours_x, names):
        medians = [r.accuracy for r in report.languages if r.dataset == name]
        ax.scatter([x] * len(medians), medians, s=10, color="#1b2a49", zorder=3,
                   label="language median" if x == ours_x[0] else None)
    if with_ref:
        ref_x = [i + width / 2 for i in range(len(names))]
        ax.bar(ref_x, [r.reference or 0.0 for r in report.datasets], width, color="#dd8452",
               label=f"reference: {(report.reference_label or '').split(' (')[0]}")
        for x, name in zip(ref_x, names):
            refs = [r.reference for r in report.languages if r.dataset == name and r.reference is not None]
            ax.scatter([x] * len(refs), refs, s=10, color="#7a3b12", zorder=3)
    for i, name in enumerate(names):
        if name in report.chance:
            ax.hlines(report.chance[name], i - 0.45, i + 0.45, colors="black", linestyles="dashed", zorder=4,
                      label="chance" if not any(n in report.chance for n in names[:i]) else None)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([n + ("\n(not zero-shot)" if report.zero_shot(n) is False else "") for n in names],
                       rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    fig.legend(loc="outside lower center", fontsize=8, ncol=4, frameon=False)
    fig.suptitle(TITLE, fontsize=11)
    return fig


def plot(report: Report, path: str) -> str:
    with open_file(path, "wb") as f:
        figure(report).savefig(f, format="png", dpi=100)
    return path


# ---- everything ----

def write_report(report: Report, out_dir: str) -> Dict[str, str]:
    """report.md, prompts.csv, summary.csv and accuracy.png in out_dir (created)."""
    make_dirs(out_dir)
    md = fileio.join(out_dir, "report.md")
    with open_file(md, "w") as f:
        f.write(to_markdown(report))
    prompts_csv, summary_csv = write_csvs(report, out_dir)
    png = plot(report, fileio.join(out_dir, "accuracy.png"))
    return {"markdown": md, "prompts": prompts_csv, "summary": summary_csv, "chart": png}
