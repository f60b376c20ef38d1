"""`LLMChatClient`: the whole LLMChat API over one `httpx.Client`."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

import httpx

from llmchat import routes
from llmchat.credentials import Credentials, OnTokens
from llmchat.models import DetailedHealth, Health, TokenPair
from llmchat.resources.admin import Admin
from llmchat.resources.agents import Agents
from llmchat.resources.auth import Auth
from llmchat.resources.cad import Cad
from llmchat.resources.chat import Chat
from llmchat.resources.files import Files
from llmchat.sync_transport import SyncTransport
from llmchat.transport_base import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, ServerUrls, StreamPolicy


class LLMChatClient:
    """A client of one LLMChat server; `base_url` is its API base, ending in `/api`.

    `token` (or `login`) authenticates every call. With a refresh token (from `login`, or
    passed in) a call answered 401 refreshes the tokens once and is sent again;
    `on_tokens` hears of every new pair, to keep them somewhere. Pass `http_client` to
    bring your own `httpx.Client` (proxies, transports, TLS); it is then yours to close.
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
        http_client: httpx.Client | None = None,
        stream_resume_attempts: int = StreamPolicy.resume_attempts,
    ) -> None:
        self._owns_http = http_client is None
        http = http_client or httpx.Client(timeout=timeout, headers=headers)
        self._transport = SyncTransport(
            http,
            ServerUrls.of(base_url),
            Credentials(token, refresh_token, on_tokens),
            StreamPolicy(resume_attempts=stream_resume_attempts),
        )
        self.auth = Auth(self._transport)
        self.agents = Agents(self._transport)
        self.chat = Chat(self._transport)
        self.files = Files(self._transport)
        self.cad = Cad(self._transport)
        self.admin = Admin(self._transport)

    @property
    def token(self) -> str | None:
        return self._transport.credentials.token

    @property
    def refresh_token(self) -> str | None:
        return self._transport.credentials.refresh_token

    def login(self, email: str, password: str) -> TokenPair:
        """Sign in and keep the tokens (same as `client.auth.login`)."""
        return self.auth.login(email, password)

    def logout(self) -> None:
        self.auth.logout()

    def health(self) -> Health:
        """`GET /health`; a 503 (unhealthy) is raised as `ServiceUnavailableError`."""
        return self._transport.call(routes.health())

    def health_detailed(self) -> DetailedHealth:
        return self._transport.call(routes.detailed_health())

    def metrics(self) -> str:
        """Prometheus text; needs an admin token or an API key with the `metrics` scope."""
        return self._transport.call(routes.metrics())

    def close(self) -> None:
        if self._owns_http:
            self._transport.http.close()

    def __enter__(self) -> LLMChatClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()
