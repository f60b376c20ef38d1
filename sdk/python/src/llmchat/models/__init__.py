"""Typed response objects (msgspec Structs, camelCase on the wire, snake_case in Python)."""

from llmchat.models.admin import (
    AdminStats,
    AgentStats,
    ApiKey,
    AuditEntry,
    Budget,
    BudgetLeft,
    BudgetSpend,
    ChatStats,
    CreatedApiKey,
    SystemStats,
    UserStats,
)
from llmchat.models.agents import Agent, AgentConfig, AgentsReloaded, AgentStatus
from llmchat.models.auth import Registered, TokenPair, User
from llmchat.models.base import Envelope, Model, Page, Pagination
from llmchat.models.cad import Bounds, CadDrawing, CadEntity, CadLayer, Point
from llmchat.models.chat import (
    Cancelled,
    ChatChunk,
    ChatMessage,
    Completion,
    HistoryMessage,
    SavedSession,
    Session,
    StreamEnd,
    Usage,
)
from llmchat.models.files import FileInfo
from llmchat.models.health import DetailedHealth, Health

__all__ = [
    "AdminStats",
    "Agent",
    "AgentConfig",
    "AgentStats",
    "AgentStatus",
    "AgentsReloaded",
    "ApiKey",
    "AuditEntry",
    "Bounds",
    "Budget",
    "BudgetLeft",
    "BudgetSpend",
    "CadDrawing",
    "CadEntity",
    "CadLayer",
    "Cancelled",
    "ChatChunk",
    "ChatMessage",
    "ChatStats",
    "Completion",
    "CreatedApiKey",
    "DetailedHealth",
    "Envelope",
    "FileInfo",
    "Health",
    "HistoryMessage",
    "Model",
    "Page",
    "Pagination",
    "Point",
    "Registered",
    "SavedSession",
    "Session",
    "StreamEnd",
    "SystemStats",
    "TokenPair",
    "Usage",
    "User",
    "UserStats",
]
