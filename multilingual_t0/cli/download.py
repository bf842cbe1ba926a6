"""mt0 download: any data family from the Hub into a mirror (for offline machines and TPU pods)."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    p = sub.add_parser("download", help="fetch datasets from the Hugging Face Hub into a mirror (permuted shards)")
    p.add_argument("datasets", nargs="*", metavar="NAME",
                   help="dataset or dataset/subset (catalog), benchmark[/lang] (xnli/fr), xP3[/lang], "
                        "xP3mt[/lang], mc4/lang (default: every catalog dataset with a Hub copy)")
    p.add_argument("--to", required=True, metavar="DIR", help="mirror directory or gs:// prefix "
                                                              "(then set MT0_DATA_DIR=DIR)")
    p.add_argument("--hub-dir", metavar="DIR",
                   help="read local snapshots of the Hub repositories, DIR/<owner>/<name> (as `huggingface-cli "
                        "download --local-dir` writes them), instead of the Hub")
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from multilingual_t0.cli.common import print_json
    from multilingual_t0.sources.download import download

    written = download(args.datasets, args.to, on_split=lambda line: print(line, file=sys.stderr),
                       hub_dir=args.hub_dir)
    if args.json:
        print_json(written)
    else:
        print(f"{len(written)} splits in {args.to}; use them with MT0_DATA_DIR={args.to}")
    return 0
