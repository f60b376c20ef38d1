"""Fixtures shared by the end-to-end tests: chat against a fake provider (see chat_fixtures)."""

from tests.e2e.chat_fixtures import auth, chat_env, chat_server, client, fake

__all__ = ["auth", "chat_env", "chat_server", "client", "fake"]
