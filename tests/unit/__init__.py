"""Unit tests: domain, application and pure adapters in memory; no database, Redis or socket."""
