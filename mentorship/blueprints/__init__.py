"""One blueprint (folder) per capability; shared view plumbing lives in records.py."""
