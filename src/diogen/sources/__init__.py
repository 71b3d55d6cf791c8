"""Configured sources: stored connections (kind, options, encrypted secrets, schedule) that the
worker syncs and the API, CLI and dashboard manage (docs/api.md, docs/pipeline.md)."""
