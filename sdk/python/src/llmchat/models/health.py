from typing import Any

from llmchat.models.base import Model


class Health(Model):
    status: str
    timestamp: str | None = None
    services: dict[str, str] = {}
    version: str | None = None


class DetailedHealth(Model):
    status: str
    timestamp: str | None = None
    checks: dict[str, dict[str, Any]] = {}
