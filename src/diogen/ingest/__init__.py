"""Ingest: bronze storage, cursors and the sync runner that drives connectors."""
