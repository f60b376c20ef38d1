"""Every module that defines stored events: importing this makes all of them known to replay."""

from importlib import import_module
from types import ModuleType

NAMES = (
    "agent",
    "api_key",
    "budget",
    "conversation",
    "file",
    "rate_limit",
    "reply_stream",
    "security",
    "token_family",
    "user",
)

EVENT_MODULES: tuple[ModuleType, ...] = tuple(import_module(f"domain.{n}") for n in NAMES)
