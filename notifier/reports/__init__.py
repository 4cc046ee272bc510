"""Reports: immutable submissions of measurements at a station, reach or point."""
