"""basins package."""
