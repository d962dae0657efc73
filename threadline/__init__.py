"""threadline: a self-hosted, wire-compatible Inkeep Analytics API."""

__version__ = "0.1.0"
