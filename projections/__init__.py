"""Read-model projectors and the runner that applies the event log to them, exactly once."""
