"""Notices: one per recipient bureau per incident, tracked until acknowledged."""
