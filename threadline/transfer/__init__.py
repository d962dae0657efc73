"""Data in and out of threadline: moving an installation between databases, importing, exporting."""
