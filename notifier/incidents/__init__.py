"""Incidents: what reports open, with their lifecycle, follow-ups and statutory clocks."""
