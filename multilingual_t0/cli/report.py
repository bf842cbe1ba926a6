"""mt0 report: a T5X eval output directory -> zero-shot accuracy table (markdown, CSV) and bar chart."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report", help="turn a T5X rank-classification eval into the accuracy table and chart",
        description="Reads <DIR>/inference_eval/<task>-metrics.jsonl (or the <task>-<step>.jsonl scores) "
                    "written by t5x/eval.py and reports accuracy per prompt, the median over prompts per "
                    "(dataset, language) and the mean over languages.")
    p.add_argument("dir", metavar="DIR", help="EVAL_OUTPUT_DIR of the t5x/eval.py run (or its inference_eval/)")
    p.add_argument("--compare", metavar="MODEL|FILE",
                   help="a model of the mT0 paper (mt0-300m, mt0-560m, mt0-1.2b, mt0-3.7b, mt0-13b, mt0-13b-mt, "
                        "mt0-13b-p3: its per-language medians from data/paper_results.csv), or a CSV "
                        "(dataset,language,accuracy; language 'mean' for the mean), e.g. another run's summary.csv")
    p.add_argument("--prompts", choices=("all", "paper"), default="all",
                   help="all: every prompt found (default); paper: only the mT0 paper's 5 prompts and languages")
    p.add_argument("--trained-on", metavar="MIXTURE|RUN_DIR",
                   help="the training mixture (or the run's MODEL_DIR / checkpoint dir / config.gin, whose "
                        "MIXTURE_OR_TASK_NAME is read): datasets whose task cluster it trained on are marked "
                        "not zero-shot, naming the training tasks")
    p.add_argument("--out", metavar="OUT_DIR",
                   help="where report.md, summary.csv, prompts.csv, accuracy.png go (default DIR/report)")
    p.add_argument("--step", type=int, help="checkpoint step to report (default: each task's latest)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of markdown")
    p.set_defaults(func=run)


def run(args) -> int:
    from multilingual_t0.cli.common import print_json
    from multilingual_t0.evaluation import render, report
    from multilingual_t0.sources import fileio

    result = report.build_report(args.dir, step=args.step, reference=args.compare, prompts=args.prompts,
                                 trained_on=args.trained_on)
    out_dir = args.out or fileio.join(args.dir, "report")
    written = render.write_report(result, out_dir)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"wrote {', '.join(written.values())}", file=sys.stderr)
    if args.json:
        print_json({**result.to_json(), "files": written})
    else:
        sys.stdout.write(render.to_markdown(result))
    return 0
