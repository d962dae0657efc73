"""The analytic read path: a columnar copy (DuckDB) of conversations, messages, feedback and
events, kept within a fraction of a second of the primary store, that dashboards and the query
API read from. The primary store stays the only thing writes go to and the only truth: the copy
can be deleted at any time and is rebuilt from it.
"""
