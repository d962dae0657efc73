"""Moving data in and out of threadline: imports from a server speaking the Inkeep Analytics
API, NDJSON exports and imports. Writes go through the same store code as the API's."""
