"""Watching a running threadline: Prometheus metrics (metrics.py, gauges.py), one log line per
request (requests.py) and the formats every log line takes (logformat.py)."""
