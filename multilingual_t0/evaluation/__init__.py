"""From T5X eval output to the paper's table: reading results, aggregating them, rendering the report, and
the contamination guard. Imports `registry` and below."""
