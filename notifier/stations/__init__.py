"""Monitoring stations (sections) on reaches, with hashed API-key credentials."""
