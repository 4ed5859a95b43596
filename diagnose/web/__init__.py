"""The web: safe HTTP for untrusted links, the guard proxy and the browser session, under one
private-network policy (policy.py)."""
