"""The tokens a client holds, and who to tell when they change."""

from __future__ import annotations

from collections.abc import Callable

from llmchat.models import TokenPair

OnTokens = Callable[[TokenPair], None]


class Credentials:
    def __init__(
        self, token: str | None, refresh_token: str | None, on_tokens: OnTokens | None
    ) -> None:
        self.token = token
        self.refresh_token = refresh_token
        self.on_tokens = on_tokens

    def store(self, pair: TokenPair) -> None:
        self.token, self.refresh_token = pair.token, pair.refresh_token
        if self.on_tokens is not None:
            self.on_tokens(pair)

    def clear(self) -> None:
        self.token = self.refresh_token = None

    def can_refresh_after(self, token_sent: str | None) -> bool:
        """Whether a 401 for `token_sent` is worth a refresh (or a retry with a newer token)."""
        return self.refresh_token is not None or self.token != token_sent

    def bearer(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}
