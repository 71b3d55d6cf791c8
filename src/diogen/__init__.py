"""Diogen: DORA and flow metrics you can explain, from the data your teams already produce."""

__version__ = "0.1.0"
