"""Run Rebyte cloud coding agents from GitHub."""

__version__ = "0.1.0"
