"""Test support: a real server process, a TCP proxy for cutting connections, builders."""
