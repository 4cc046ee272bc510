"""Routing: from a trace of the river to the ordered list of notices (pure)."""
