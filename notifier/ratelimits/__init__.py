"""Rate-limit buckets kept in the database, shared by every server process (api.ratelimit)."""
