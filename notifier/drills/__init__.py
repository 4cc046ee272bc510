"""Drills (演练): exercise incidents and how fast each bureau acknowledged."""
