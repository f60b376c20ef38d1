"""Integration tests: adapters, projections and jobs against real PostgreSQL, Redis and HTTP."""
