"""Tests: unit (in memory), integration (real PostgreSQL and Redis) and end-to-end (HTTP)."""
