"""`client.admin`: statistics, the audit trail, users, API keys and budgets (administrators
only)."""

from __future__ import annotations

from collections.abc import Sequence

from llmchat import routes
from llmchat.async_transport import AsyncTransport
from llmchat.models import (
    AdminStats,
    ApiKey,
    AuditEntry,
    AuditVerification,
    Budget,
    CreatedApiKey,
    ErasedUser,
    ManagedUser,
    Page,
)
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


class Users:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        role: str | None = None,
        status: str | None = None,
        email: str | None = None,
    ) -> Page[ManagedUser]:
        """Users, newest first; `email` matches any part of the address."""
        return self._transport.call(routes.list_users(page, limit, role, status, email))

    def update(
        self, user_id: str, *, role: str | None = None, status: str | None = None
    ) -> ManagedUser:
        """Change the role, the status ("deactivated" ends every sign-in and API key of
        the user), or both."""
        return self._transport.call(routes.change_user(user_id, role, status))

    def erase(self, user_id: str) -> ErasedUser:
        """Erase the user for good: their conversations, files and personal fields become
        unreadable (their data keys destroyed, file bytes deleted), the account closed."""
        return self._transport.call(routes.erase_user(user_id))


class Budgets:
    """Budgets of a `scope` ("user", "apiKey" or "role") and id (a user id, key id or role)."""

    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def set(
        self,
        scope: str,
        subject_id: str,
        *,
        period: str,
        tokens: int | None = None,
        cost: float | None = None,
    ) -> Budget:
        """Limit a day's or a month's tokens, cost or both."""
        return self._transport.call(routes.set_budget(scope, subject_id, period, tokens, cost))

    def get(self, scope: str, subject_id: str) -> Budget:
        """The budget with what its period has used and has left, and when it resets."""
        return self._transport.call(routes.get_budget(scope, subject_id))

    def remove(self, scope: str, subject_id: str) -> None:
        return self._transport.call(routes.remove_budget(scope, subject_id))


class Admin:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport
        self.api_keys = ApiKeys(transport)
        self.budgets = Budgets(transport)
        self.users = Users(transport)

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

    def verify_audit(self) -> AuditVerification:
        """The audit trail's and the event log's hash chains, recomputed by the server."""
        return self._transport.call(routes.admin_verify_audit())


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


class AsyncUsers:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        role: str | None = None,
        status: str | None = None,
        email: str | None = None,
    ) -> Page[ManagedUser]:
        """Users, newest first; `email` matches any part of the address."""
        return await self._transport.call(routes.list_users(page, limit, role, status, email))

    async def update(
        self, user_id: str, *, role: str | None = None, status: str | None = None
    ) -> ManagedUser:
        """Change the role, the status ("deactivated" ends every sign-in and API key of
        the user), or both."""
        return await self._transport.call(routes.change_user(user_id, role, status))

    async def erase(self, user_id: str) -> ErasedUser:
        """Erase the user for good: their conversations, files and personal fields become
        unreadable (their data keys destroyed, file bytes deleted), the account closed."""
        return await self._transport.call(routes.erase_user(user_id))


class AsyncBudgets:
    """Budgets of a `scope` ("user", "apiKey" or "role") and id (a user id, key id or role)."""

    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def set(
        self,
        scope: str,
        subject_id: str,
        *,
        period: str,
        tokens: int | None = None,
        cost: float | None = None,
    ) -> Budget:
        """Limit a day's or a month's tokens, cost or both."""
        call = routes.set_budget(scope, subject_id, period, tokens, cost)
        return await self._transport.call(call)

    async def get(self, scope: str, subject_id: str) -> Budget:
        """The budget with what its period has used and has left, and when it resets."""
        return await self._transport.call(routes.get_budget(scope, subject_id))

    async def remove(self, scope: str, subject_id: str) -> None:
        return await self._transport.call(routes.remove_budget(scope, subject_id))


class AsyncAdmin:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport
        self.api_keys = AsyncApiKeys(transport)
        self.budgets = AsyncBudgets(transport)
        self.users = AsyncUsers(transport)

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

    async def verify_audit(self) -> AuditVerification:
        """The audit trail's and the event log's hash chains, recomputed by the server."""
        return await self._transport.call(routes.admin_verify_audit())
