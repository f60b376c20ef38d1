"""End-to-end tests: real server processes over HTTP, with fake providers, outages and kills."""
