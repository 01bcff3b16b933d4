"""Dagster resources: the warehouse (PostgreSQL), the sFTP server, the SMB share and the reference database."""
