"""notifier package."""
