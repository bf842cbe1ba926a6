"""What seqio runs for a task: streamed sources (examples crossing into TensorFlow in batches), the fused
mixture feed and its draws, vocabulary, preprocessors, postprocessors and metrics. Imports `prompting` and
below."""
