"""Output helpers shared by the subcommands: tables for people, JSON for scripts, progress on stderr."""

from __future__ import annotations

import json
import sys
from typing import Any, Iterable, Optional, Sequence


def print_table(rows: Sequence[Sequence[Any]], headers: Sequence[str], out=None) -> None:
    """Left-aligned text columns, numbers right-aligned."""
    out = out or sys.stdout
    cells = [[_fmt(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) and bool(rows) for i in range(len(headers))]

    def line(values):
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    print(line(headers), file=out)
    print(line(["-" * w for w in widths]), file=out)
    for row in cells:
        print(line(row), file=out)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def progress(iterable: Iterable, total: Optional[int] = None, desc: str = "", unit: str = "it"):
    """A progress bar on stderr (tqdm), quiet when stderr is not a terminal."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr,
                disable=not sys.stderr.isatty(), leave=False)


def parse_lengths(text: str) -> dict:
    """'inputs=1024,targets=256' -> {'inputs': 1024, 'targets': 256}."""
    out = {}
    for item in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not value.strip().isdigit():
            raise ValueError(f"--lengths item {item!r} is not feature=number (e.g. inputs=1024,targets=256)")
        out[key.strip()] = int(value)
    return out
