"""Reading the package's CSV tables, and where its data files are.

Every table under `multilingual_t0/data/` is read by `read_table`: columns checked, each row parsed by the
table's own function, duplicate keys refused; a bad row raises CatalogError naming file:line.
"""

from __future__ import annotations

import csv
import os
from typing import Callable, Dict, Sequence, Tuple, TypeVar

from multilingual_t0.errors import CatalogError

DATA_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data")
SAMPLES_DIR = os.path.join(DATA_DIR, "samples")  # made-up records in each family's mirror layout
T = TypeVar("T")


def read_table(path: str, columns: Sequence[str], parse_row: Callable[[Dict[str, str]], T],
               key: Callable[[T], str]) -> Tuple[T, ...]:
    """Reads a CSV table of the package: checks the columns, parses each row, refuses duplicate keys.
    A bad row raises CatalogError naming file:line and what is wrong (parse_row raises ValueError)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise CatalogError(f"{path}:1: missing column(s) {', '.join(missing)}; expected {tuple(columns)}")
        items, seen = [], set()
        for line, row in enumerate(reader, start=2):
            if None in row.values() or None in row:  # fewer cells than the header, or more
                raise CatalogError(f"{path}:{line}: the row does not have the header's {len(reader.fieldnames)} "
                                   f"cells ({', '.join(reader.fieldnames)}); a cell holding a comma needs quotes")
            try:
                item = parse_row(row)
            except ValueError as err:
                raise CatalogError(f"{path}:{line}: {err}") from err
            if key(item) in seen:
                raise CatalogError(f"{path}:{line}: duplicate row for {key(item)}")
            seen.add(key(item))
            items.append(item)
    return tuple(items)
