"""Where agent definitions come from: the agents file (`LLMCHAT_AGENTS_FILE`), or, with none
configured, the one built-in demo agent that needs no provider key.

A key is resolved here, kept in memory, and leaves as a reference only: `env:NAME` as written,
a literal key as a short fingerprint, so a changed key still counts as a changed agent.
"""

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

import msgspec

from application.agents import AgentSet, AgentsFileInvalid, AgentSource
from domain.agent import (
    AgentDefinition,
    InvalidAgent,
    check_agent_id,
    check_fallback_graph,
    check_fallbacks,
    checked_definition,
)

ENV_PREFIX = "env:"
FINGERPRINT_HEX = 12

DEMO_AGENT_ID = "demo"
DEMO_AGENT = AgentDefinition(
    name="Demo (local echo)",
    description=(
        "Answers locally by repeating what you say; needs no provider key. "
        "Configure LLMCHAT_AGENTS_FILE to talk to real models."
    ),
    category="demo",
    provider="demo",
    endpoint="",
    key_ref="",
    model="demo-echo",
    capabilities=("chat",),
)


class AgentConfigEntry(msgspec.Struct, rename="camel"):
    """Sampling settings; other keys a file may carry here are ignored (and never stored)."""

    temperature: float | None = None
    max_tokens: int | None = None


class AgentEntry(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    id: str
    name: str
    description: str
    category: str
    provider: str
    endpoint: str
    api_key: str
    model: str
    capabilities: list[str]
    config: AgentConfigEntry
    avatar: str | None = None
    status: str = "active"
    fallbacks: list[str] = []


class AgentsFileBody(msgspec.Struct):
    agents: list[AgentEntry]


def key_reference(api_key: str) -> str:
    if not api_key or api_key.startswith(ENV_PREFIX):
        return api_key
    return "sha256:" + hashlib.sha256(api_key.encode()).hexdigest()[:FINGERPRINT_HEX]


class AgentsFile:
    def __init__(self, path: Path, environ: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.environ = os.environ if environ is None else environ

    def read(self) -> AgentSet:
        try:
            raw = self.path.read_bytes()
        except OSError as error:
            raise AgentsFileInvalid(f"{self.path}: cannot read: {error.strerror}") from None
        try:
            body = msgspec.json.decode(raw, type=AgentsFileBody)
        except msgspec.DecodeError as error:
            # msgspec's messages name the place ("at `$.agents[1]`"), never the values.
            raise AgentsFileInvalid(f"{self.path}: {error}") from None
        definitions: dict[str, AgentDefinition] = {}
        keys: dict[str, str] = {}
        unavailable: dict[str, str] = {}
        for entry in body.agents:
            try:
                check_agent_id(entry.id)
                if entry.id in definitions:
                    raise InvalidAgent("id: appears more than once")
                check_fallbacks(entry.id, tuple(entry.fallbacks))
                definitions[entry.id] = checked_definition(definition_of(entry))
                keys[entry.id], missing = self.resolve_key(entry.api_key)
            except InvalidAgent as error:
                raise AgentsFileInvalid(f"{self.path}: agent {entry.id!r}: {error}") from None
            if missing is not None:
                # One unset key must not stop the agents that can serve.
                unavailable[entry.id] = f"environment variable {missing} is not set"
        try:
            check_fallback_graph(definitions)
        except InvalidAgent as error:
            raise AgentsFileInvalid(f"{self.path}: {error}") from None
        return AgentSet(definitions, keys, unavailable)

    def resolve_key(self, api_key: str) -> tuple[str, str | None]:
        """The key, and the variable it names when that is not set ("" and its name)."""
        if not api_key.startswith(ENV_PREFIX):
            return api_key, None
        name = api_key.removeprefix(ENV_PREFIX)
        if not name:
            raise InvalidAgent("apiKey: `env:` names no variable")
        value = self.environ.get(name, "")
        return value, None if value else name


def definition_of(entry: AgentEntry) -> AgentDefinition:
    return AgentDefinition(
        name=entry.name,
        description=entry.description,
        category=entry.category,
        provider=entry.provider,
        endpoint=entry.endpoint,
        key_ref=key_reference(entry.api_key),
        model=entry.model,
        avatar=entry.avatar,
        status=entry.status,
        capabilities=tuple(entry.capabilities),
        temperature=entry.config.temperature,
        max_tokens=entry.config.max_tokens,
        fallbacks=tuple(entry.fallbacks),
    )


class BuiltInAgents:
    """The agents when no file is configured: only the demo, so anyone can try everything."""

    def read(self) -> AgentSet:
        return AgentSet({DEMO_AGENT_ID: DEMO_AGENT}, {DEMO_AGENT_ID: ""})


def agent_source(agents_file: str | None, environ: Mapping[str, str] | None = None) -> AgentSource:
    if agents_file is None:
        return BuiltInAgents()
    return AgentsFile(Path(agents_file), environ)
