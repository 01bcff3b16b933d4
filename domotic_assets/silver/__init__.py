"""Silver layer: typed, cleaned rows in PostgreSQL, every bronze file loaded or quarantined."""
