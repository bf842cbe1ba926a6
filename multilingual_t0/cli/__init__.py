"""`mt0`: list, show, stats, check, export, download, cache the tasks; report eval results.

Each subcommand is one module here exposing `add_parser(subparsers)` (which sets `func`) and keeps its
heavy imports inside the function it runs, so `mt0 --help` is instant.
Exit codes: 0 ok, 1 failure, 2 usage error or unknown name.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import List, Optional

from multilingual_t0 import settings
from multilingual_t0.errors import DamagedFileError, DataNotFoundError, UnknownNameError

# Subcommand -> module in this package. A new subcommand is one module plus one entry here.
SUBCOMMANDS = {
    "list": "list_cmd",
    "show": "show",
    "stats": "stats",
    "check": "check",
    "export": "export",
    "download": "download",
    "cache": "cache",
    "report": "report",
    "convert": "convert",
}
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mt0", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, module in SUBCOMMANDS.items():
        try:
            mod = importlib.import_module(f"{__name__}.{module}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{module}":
                raise
            continue  # not built yet
        mod.add_parser(sub)
    for subparser in sub.choices.values():  # data options, accepted after any subcommand
        group = subparser.add_argument_group("data")
        group.add_argument("--source", choices=settings.SOURCE_KINDS,
                           help="where records come from (sets MT0_DATA_SOURCE; default auto: "
                                "the mirror if MT0_DATA_DIR is set, else the Hugging Face Hub)")
        group.add_argument("--data-dir", metavar="DIR", help="local mirror directory (sets MT0_DATA_DIR)")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    try:
        settings.current()  # a bad MT0_* value is a usage error: named now, before any data is read
    except ValueError as err:
        print(f"mt0 {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    if extra:  # only a command that passes flags on (mt0 cache ... -- FLAGS) takes what argparse left
        if not getattr(args, "takes_passthrough", False):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        if "--" in extra:
            extra.remove("--")  # the first one: the separator itself
        args.passthrough = extra
    chosen = {k: v for k, v in (("source", getattr(args, "source", None)),
                                 ("data_dir", getattr(args, "data_dir", None))) if v}
    try:
        if chosen:  # through the environment, so processes the command starts (Beam, T5X) read them too
            settings.current().replace(**chosen).export()
        return int(args.func(args) or EXIT_OK)
    except UnknownNameError as err:
        print(f"mt0 {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except (DataNotFoundError, DamagedFileError, FileNotFoundError, ValueError, KeyError) as err:
        print(f"mt0 {args.command}: {err}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print(f"mt0 {args.command}: interrupted", file=sys.stderr)
        return 130
