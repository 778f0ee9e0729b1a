"""A corpus of hand-edited and broken inputs, built by code from a small simulated sample (see breakers.py)."""
