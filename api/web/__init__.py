"""The web pages: sign-in, notification map, inbox, statistics and the sent-mail view."""

from api.web.router import web_router

__all__ = ["web_router"]
