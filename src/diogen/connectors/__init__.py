"""Connectors: fetch raw records from a source and normalise them into silver rows."""
