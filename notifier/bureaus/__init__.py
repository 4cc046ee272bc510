"""Bureaus: the environmental authority of each jurisdiction, with its contacts."""
