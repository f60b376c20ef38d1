"""`client.admin`: statistics, the audit trail and API keys (administrators only)."""

from __future__ import annotations

from collections.abc import Sequence

from llmchat import routes
from llmchat.async_transport import AsyncTransport
from llmchat.models import AdminStats, ApiKey, AuditEntry, CreatedApiKey, Page
from llmchat.sync_transport import SyncTransport


class ApiKeys:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def create(self, name: str, *, role: str = "user", scopes: Sequence[str] = ()) -> CreatedApiKey:
        """A key for a service account; its secret (`.key`) is in this answer only."""
        return self._transport.call(routes.create_api_key(name, role, scopes))

    def list(self, *, page: int | None = None, limit: int | None = None) -> Page[ApiKey]:
        return self._transport.call(routes.list_api_keys(page, limit))

    def revoke(self, key_id: str) -> ApiKey:
        return self._transport.call(routes.revoke_api_key(key_id))


class Admin:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport
        self.api_keys = ApiKeys(transport)

    def stats(self) -> AdminStats:
        return self._transport.call(routes.admin_stats())

    def audit(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        user_id: str | None = None,
        action: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> Page[AuditEntry]:
        call = routes.admin_audit(page, limit, user_id, action, start_date, end_date)
        return self._transport.call(call)


class AsyncApiKeys:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def create(
        self, name: str, *, role: str = "user", scopes: Sequence[str] = ()
    ) -> CreatedApiKey:
        """A key for a service account; its secret (`.key`) is in this answer only."""
        return await self._transport.call(routes.create_api_key(name, role, scopes))

    async def list(self, *, page: int | None = None, limit: int | None = None) -> Page[ApiKey]:
        return await self._transport.call(routes.list_api_keys(page, limit))

    async def revoke(self, key_id: str) -> ApiKey:
        return await self._transport.call(routes.revoke_api_key(key_id))


class AsyncAdmin:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport
        self.api_keys = AsyncApiKeys(transport)

    async def stats(self) -> AdminStats:
        return await self._transport.call(routes.admin_stats())

    async def audit(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        user_id: str | None = None,
        action: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
    ) -> Page[AuditEntry]:
        call = routes.admin_audit(page, limit, user_id, action, start_date, end_date)
        return await self._transport.call(call)
