"""`client.auth`: register, login (keeps the tokens), refresh, logout (forgets them), and
erasing your own account."""

from __future__ import annotations

from llmchat import routes
from llmchat.async_transport import AsyncTransport
from llmchat.models import ErasedUser, Registered, TokenPair
from llmchat.sync_transport import SyncTransport


class Auth:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def register(self, email: str, password: str, name: str) -> Registered:
        return self._transport.call(routes.register(email, password, name))

    def login(self, email: str, password: str) -> TokenPair:
        """Sign in; the client then sends the token, and refreshes it once on a 401."""
        pair = self._transport.call(routes.login(email, password))
        self._transport.credentials.store(pair)
        return pair

    def refresh(self, refresh_token: str | None = None) -> TokenPair:
        """New tokens for the held (or the given) refresh token; the old one stops working."""
        token = refresh_token or self._transport.credentials.refresh_token
        if token is None:
            raise ValueError("no refresh token: log in first, or pass one")
        pair = self._transport.call(routes.refresh(token))
        self._transport.credentials.store(pair)
        return pair

    def logout(self) -> None:
        """End this sign-in on the server (its tokens stop working) and forget the tokens."""
        self._transport.call(routes.logout())
        self._transport.credentials.clear()

    def erase_me(self, password: str) -> ErasedUser:
        """Erase your own account for good (its conversations, files and personal fields
        become unreadable; every sign-in ends) and forget the tokens."""
        erased = self._transport.call(routes.erase_me(password))
        self._transport.credentials.clear()
        return erased


class AsyncAuth:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def register(self, email: str, password: str, name: str) -> Registered:
        return await self._transport.call(routes.register(email, password, name))

    async def login(self, email: str, password: str) -> TokenPair:
        """Sign in; the client then sends the token, and refreshes it once on a 401."""
        pair = await self._transport.call(routes.login(email, password))
        self._transport.credentials.store(pair)
        return pair

    async def refresh(self, refresh_token: str | None = None) -> TokenPair:
        """New tokens for the held (or the given) refresh token; the old one stops working."""
        token = refresh_token or self._transport.credentials.refresh_token
        if token is None:
            raise ValueError("no refresh token: log in first, or pass one")
        pair = await self._transport.call(routes.refresh(token))
        self._transport.credentials.store(pair)
        return pair

    async def logout(self) -> None:
        """End this sign-in on the server (its tokens stop working) and forget the tokens."""
        await self._transport.call(routes.logout())
        self._transport.credentials.clear()

    async def erase_me(self, password: str) -> ErasedUser:
        """Erase your own account for good (its conversations, files and personal fields
        become unreadable; every sign-in ends) and forget the tokens."""
        erased = await self._transport.call(routes.erase_me(password))
        self._transport.credentials.clear()
        return erased
