"""Adapters for the application ports: event store, PostgreSQL, Redis, providers, tokens, hashing, settings."""
