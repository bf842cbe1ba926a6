"""Records -> text: promptsource templates rendered (bad records counted), and records that already hold
the model's text. Imports `sources`, `catalog` and below."""
