"""Demo data: a realistic docs-assistant project generated from one seed (generate.py) and
bulk-loaded into a threadline database (load.py), for `threadline demo` and bench/."""
