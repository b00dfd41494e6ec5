"""Ingest: readers for each file format, encoding detection, front matter and the pipeline."""
