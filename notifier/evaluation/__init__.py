"""Checking measurements against GB 3838-2002 and per-station alarm thresholds (pure)."""
