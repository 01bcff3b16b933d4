"""Local demo platform: embedded PostgreSQL, MariaDB and sFTP servers plus a synthetic source generator."""
