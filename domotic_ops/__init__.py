"""The platform's own operations: configuration, embedded PostgreSQL, Dagster launcher, checks and CLI."""
