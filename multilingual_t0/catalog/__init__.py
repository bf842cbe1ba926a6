"""The package's tables as typed rows: datasets, promptsource templates, eval benchmarks, mC4 and xP3
languages. Bottom layer: imports only `errors`; reads nothing but package data."""
