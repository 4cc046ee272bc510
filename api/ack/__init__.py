"""Acknowledgement links: the page behind the link in every notice (GET shows, POST records)."""

from api.ack.router import ack_router

__all__ = ["ack_router"]
