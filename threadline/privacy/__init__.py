"""Privacy (issue 16): erasing an end user (erase.py) and redacting personal data at ingest
(detect.py finds it in text, redact.py applies it to request bodies, policy.py knows which
projects asked for it)."""
