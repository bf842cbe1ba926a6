"""Jobs a user runs around T5X: launch train/eval/infer and Beam caching (settings baked for workers),
export tasks to files, the demo. Imports `registry` and below."""
