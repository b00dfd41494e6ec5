"""Core library of the consulting case knowledge base: text, chunks, store, indexes and search."""

__version__ = "0.1.0"
