"""Read-model projectors and the runner that tracks each one's position in the event log."""
