"""The transactional outbox: messages decided with their notices, sent by the worker."""
