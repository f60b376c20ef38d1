"""Read-model projectors and the runner that applies the event log to them, exactly once; the
sealer that chains the raw log into the seal chain, its verification and signed checkpoints."""
