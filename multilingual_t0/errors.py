"""Exception types. Each subclasses the built-in a caller would naturally catch."""

from __future__ import annotations

import difflib
from typing import Iterable, Sequence


class CatalogError(ValueError):
    """A shipped or user-supplied table is malformed; the message names file:row:column."""


class DataNotFoundError(FileNotFoundError):
    """No data for a (dataset, subset, split); the message lists every place that was tried."""

    def __init__(self, what: str, tried: Sequence[str], fix: str):
        self.what = what
        self.tried = list(tried)
        self.fix = fix
        lines = [f"No data for {what}. Tried:"]
        lines += [f"  - {t}" for t in self.tried] or ["  (nothing)"]
        lines.append(f"Fix: {fix}")
        super().__init__("\n".join(lines))


class BadRecordError(ValueError):
    """A record could not be rendered by a template (raised only in strict mode)."""


class UnknownNameError(KeyError):
    """An unknown task, mixture, dataset or language name; suggests close matches."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind = kind
        self.name = name
        self.suggestions = difflib.get_close_matches(name, list(known), n=5, cutoff=0.6)
        message = f"Unknown {kind} {name!r}."
        if self.suggestions:
            message += " Did you mean: " + ", ".join(self.suggestions) + "?"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError's str() would add quotes around the message
        return self.args[0]


class DamagedFileError(OSError):
    """A data file cannot be read to its end (truncated, corrupt, not UTF-8); names it and the fix."""

    def __init__(self, path: str, records_read: int, cause: str):
        self.path = path
        self.records_read = records_read
        super().__init__(
            f"Damaged data file {path}: {cause} after {records_read} records.\n"
            f"Fix: replace the file (re-download it: `mt0 download DATASET --to MIRROR` again, or copy it "
            f"anew), then rerun.")

    def __str__(self) -> str:  # OSError's str() of one argument is fine; keep it explicit
        return self.args[0]


class NotResumableError(ValueError):
    """An input whose position cannot be saved in a dataset checkpoint; names it, the reason and the fix."""


class HostWithoutExamplesError(ValueError):
    """A training task yields no example on one host's shard (so a mixture would end there); names the
    task, the host shard and the counts."""
