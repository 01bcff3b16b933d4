"""Seeded, reproducible synthetic sources (sensor JSON, weather CSV, reference tables) that follow the data
contract of docs/sources.md."""
