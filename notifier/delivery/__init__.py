"""Delivery: turning outbox rows into emails and webhook calls, and recording what happened.

Everything here either builds a message (pure), sends one (I/O, returns every outcome) or
decides what to do next (pure, see ``retry``). The worker ties them to the outbox tables.
"""
