"""Pure parsing helpers (no Dagster import): filenames, JSON flattening, CSV cleaning."""
