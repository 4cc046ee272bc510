"""What is due now: reminders, escalations and clock warnings (pure)."""
