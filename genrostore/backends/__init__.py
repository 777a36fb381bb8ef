"""One module per backend; each declares `SPEC` and imports its client library lazily."""
