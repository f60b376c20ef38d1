"""Adapters for the application ports.

Event store, PostgreSQL, Redis, providers, tokens, hashing and settings.
"""
