"""Dagster definitions of the domotic platform (assets, sensors, schedules, checks)."""
