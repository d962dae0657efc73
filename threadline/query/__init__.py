"""The query language (reference §7): catalogue.py (each view's fields as data) -> compile.py
(a request Struct -> a SQLAlchemy Select with bound parameters, confined to one project) ->
run.py (a page of rows, or a CSV stream). The API and the dashboard both call run.py."""
