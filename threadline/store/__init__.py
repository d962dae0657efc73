"""Storage: SQLAlchemy Core tables, engines, the group-commit writer and one module per resource.

Only this package and threadline.query import SQLAlchemy.
"""
