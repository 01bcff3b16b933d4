"""Ingestion: the jobs, sensors and schedule that bring new source files through bronze into silver."""
