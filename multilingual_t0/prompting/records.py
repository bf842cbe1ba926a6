"""Records that already hold the model's text (xP3, the user's own files): a record -> {inputs, targets}.

Nothing is rendered: two fields become the example. A record that is not a JSON object, lacks a field,
holds a non-string, or has an empty target gives a reason instead (counted by the source, as the
renderer counts records a template cannot render).
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

from multilingual_t0.sources.files import InvalidRecord

# Why a record was skipped (RenderStats.errors keys).
INVALID_RECORD = "invalid_record"
MISSING_FIELD = "missing_field"
NOT_A_STRING = "not_a_string"
EMPTY_TARGET = "empty_target"


def example_or_reason(record: Any, inputs_field: str, targets_field: str
                      ) -> Tuple[Optional[Dict[str, str]], Optional[str], str]:
    """({'inputs', 'targets'}, None, '') or (None, reason, detail) for one raw record."""
    if isinstance(record, InvalidRecord):
        return None, INVALID_RECORD, f"{record.error} at {record.where}"
    values = {}
    for key, field in (("inputs", inputs_field), ("targets", targets_field)):
        if field not in record:
            return None, MISSING_FIELD, f"no field {field!r} (fields: {', '.join(sorted(map(str, record)))})"
        if not isinstance(record[field], str):
            return None, NOT_A_STRING, f"field {field!r} is {type(record[field]).__name__}, not a string"
        values[key] = record[field]
    if not values["targets"].strip():
        return None, EMPTY_TARGET, f"field {targets_field!r} is empty"
    return values, None, ""
