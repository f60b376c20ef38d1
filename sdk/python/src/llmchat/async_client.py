"""`AsyncLLMChatClient`: the whole LLMChat API over one `httpx.AsyncClient`."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import httpx

from llmchat import routes
from llmchat.async_transport import AsyncTransport
from llmchat.credentials import Credentials, OnTokens
from llmchat.models import DetailedHealth, Health, TokenPair
from llmchat.resources.admin import AsyncAdmin
from llmchat.resources.agents import AsyncAgents
from llmchat.resources.async_chat import AsyncChat
from llmchat.resources.auth import AsyncAuth
from llmchat.resources.cad import AsyncCad
from llmchat.resources.files import AsyncFiles
from llmchat.transport_base import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, ServerUrls, StreamPolicy


class AsyncLLMChatClient:
    """A client of one LLMChat server; `base_url` is its API base, ending in `/api`.

    `token` (or `login`) authenticates every call. With a refresh token (from `login`, or
    passed in) a call answered 401 refreshes the tokens once and is sent again;
    `on_tokens` hears of every new pair, to keep them somewhere. Pass `http_client` to
    bring your own `httpx.AsyncClient` (proxies, transports, TLS); it is then yours to close.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        *,
        refresh_token: str | None = None,
        on_tokens: OnTokens | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        stream_resume_attempts: int = StreamPolicy.resume_attempts,
    ) -> None:
        self._owns_http = http_client is None
        http = http_client or httpx.AsyncClient(timeout=timeout, headers=headers)
        self._transport = AsyncTransport(
            http,
            ServerUrls.of(base_url),
            Credentials(token, refresh_token, on_tokens),
            StreamPolicy(resume_attempts=stream_resume_attempts),
        )
        self.auth = AsyncAuth(self._transport)
        self.agents = AsyncAgents(self._transport)
        self.chat = AsyncChat(self._transport)
        self.files = AsyncFiles(self._transport)
        self.cad = AsyncCad(self._transport)
        self.admin = AsyncAdmin(self._transport)

    @property
    def token(self) -> str | None:
        return self._transport.credentials.token

    @property
    def refresh_token(self) -> str | None:
        return self._transport.credentials.refresh_token

    async def login(self, email: str, password: str) -> TokenPair:
        """Sign in and keep the tokens (same as `client.auth.login`)."""
        return await self.auth.login(email, password)

    async def logout(self) -> None:
        await self.auth.logout()

    async def health(self) -> Health:
        """`GET /health`; a 503 (unhealthy) is raised as `ServiceUnavailableError`."""
        return await self._transport.call(routes.health())

    async def health_detailed(self) -> DetailedHealth:
        return await self._transport.call(routes.detailed_health())

    async def metrics(self) -> str:
        """Prometheus text; needs an admin token or an API key with the `metrics` scope."""
        return await self._transport.call(routes.metrics())

    async def aclose(self) -> None:
        if self._owns_http:
            await self._transport.http.aclose()

    async def __aenter__(self) -> AsyncLLMChatClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
