"""Run Rebyte cloud coding agents from GitHub."""

__version__ = "1.0.0"
