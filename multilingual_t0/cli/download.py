"""mt0 download: catalog datasets from the Hub into a local mirror (for offline machines and TPU VMs)."""

from __future__ import annotations

import sys


def add_parser(sub) -> None:
    p = sub.add_parser("download", help="fetch catalog datasets from the Hugging Face Hub into a mirror")
    p.add_argument("datasets", nargs="*", metavar="DATASET",
                   help="dataset or dataset/subset names (default: every catalog dataset with a Hub copy)")
    p.add_argument("--to", required=True, metavar="DIR", help="mirror directory (then set MT0_DATA_DIR=DIR)")
    p.add_argument("--json", action="store_true", help="print the files written as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from multilingual_t0.cli.common import print_json
    from multilingual_t0.sources.download import download

    written = download(args.datasets, args.to, on_split=lambda line: print(line, file=sys.stderr))
    if args.json:
        print_json(written)
    else:
        print(f"{len(written)} splits in {args.to}; use them with MT0_DATA_DIR={args.to}")
    return 0
