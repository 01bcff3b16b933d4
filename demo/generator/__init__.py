"""Seeded, reproducible synthetic sources that follow the data contract (sensor JSON, weather CSV, reference tables)."""
