"""Errors the command line shows as one clear line (exit code 2), never as a traceback."""


class UserError(Exception):
    """An error whose message is safe and useful to show on the terminal as it is."""
