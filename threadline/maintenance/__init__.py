"""Keeping data: online backup and restore, and per-project retention (issue 16)."""
