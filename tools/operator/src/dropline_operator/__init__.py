"""`dropline`: the operator's command-line toolkit (see cli.py)."""
