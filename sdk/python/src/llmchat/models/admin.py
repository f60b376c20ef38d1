from typing import Any

import msgspec

from llmchat.models.base import Model


class UserStats(Model):
    total: int = 0
    active: int = 0
    new_today: int = 0


class AgentStats(Model):
    total: int = 0
    active: int = 0
    categories: list[str] = []


class ChatStats(Model):
    total: int = 0
    today: int = 0
    average_length: float = 0.0


class SystemStats(Model):
    uptime: str = ""
    version: str = ""
    environment: str = ""


class AdminStats(Model):
    users: UserStats = msgspec.field(default_factory=UserStats)
    agents: AgentStats = msgspec.field(default_factory=AgentStats)
    chats: ChatStats = msgspec.field(default_factory=ChatStats)
    system: SystemStats = msgspec.field(default_factory=SystemStats)


class AuditEntry(Model):
    """One audit record: who did what to which resource, from where, and how it went."""

    id: str | None = None
    position: int | None = None
    timestamp: str | None = None
    user_id: str | None = None
    action: str | None = None
    resource: str | None = None
    outcome: str | None = None
    details: Any = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    hash: str | None = None
    """The entry's link in the audit hash chain."""


class AuditChainCheck(Model):
    """The audit trail's hash chain, recomputed: intact up to `verified_to` in the log."""

    intact: bool = True
    entries: int = 0
    head: str = ""
    verified_to: int = 0
    log_head: int = 0
    unaudited: int = 0
    quarantined: list[int] = []
    problem: str | None = None
    broken_at: dict[str, Any] | None = None


class ChainBreak(Model):
    """An event the seal chain does not hold as sealed: altered, deleted, inserted or moved."""

    position: int
    problem: str
    stream_id: str | None = None
    version: int | None = None
    type: str | None = None


class EventChainCheck(Model):
    """The event log's seal chain, recomputed from the raw tables."""

    intact: bool = True
    sealing: bool = False
    sealed: int = 0
    verified_to: int = 0
    seal: str = ""
    log_head: int = 0
    unsealed: int = 0
    broken: int = 0
    breaks: list[ChainBreak] = []
    rewritten: list[int] = []


class AuditVerification(Model):
    """What `llmchat audit verify` says, for administrators: both chains."""

    intact: bool
    audit_chain: AuditChainCheck = msgspec.field(default_factory=AuditChainCheck)
    event_chain: EventChainCheck = msgspec.field(default_factory=EventChainCheck)


class ManagedUser(Model):
    """A user as administrators see it: `role` "user", "enterprise" or "admin", `status`
    "active" or "deactivated"."""

    id: str
    email: str
    name: str
    role: str
    status: str
    created_at: str | None = None


class ErasedUser(Model):
    """An erased account: closed for good (`status` "deactivated"), its conversations,
    files and personal fields unreadable (`keys_destroyed` data keys destroyed,
    `files_deleted` files' bytes deleted)."""

    id: str
    status: str
    erased: bool
    keys_destroyed: int
    files_deleted: int


class ApiKey(Model):
    id: str
    name: str
    role: str
    scopes: list[str] = []
    prefix: str | None = None
    created_by: str | None = None
    created_at: str | None = None
    revoked: bool = False
    revoked_at: str | None = None


class CreatedApiKey(ApiKey, kw_only=True):
    key: str
    """The secret `llmk_...`: shown in this answer and never again."""


class BudgetSpend(Model):
    tokens: int = 0
    cost: float = 0.0


class BudgetLeft(Model):
    tokens: int | None = None
    """None where the budget sets no token limit."""
    cost: float | None = None


class Budget(Model):
    """A budget of a user, an API key or a role, with its current period's use."""

    scope: str
    id: str
    period: str
    tokens: int | None = None
    cost: float | None = None
    set_by: str | None = None
    set_at: str | None = None
    used: BudgetSpend = msgspec.field(default_factory=BudgetSpend)
    reserved: BudgetSpend = msgspec.field(default_factory=BudgetSpend)
    """Held by replies still running."""
    left: BudgetLeft = msgspec.field(default_factory=BudgetLeft)
    period_start: str | None = None
    resets_at: str | None = None
