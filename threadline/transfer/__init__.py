"""Data in and out of threadline: imports from a server speaking the Inkeep Analytics API, NDJSON
exports and imports, and copies of a whole installation between databases. Writes of imports go
through the same store code as the API's."""
