"""People who sign in to the API (bureau staff, supervisors, administrators)."""
