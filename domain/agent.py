"""An agent: a provider-backed assistant the agents file defines and an administrator may adjust.

The file is the source of an agent's definition; an administrator's changes (overrides) win
over the file for the fields they set, until the file itself changes such a field. Events
carry an agent's whole state after the change, so a reader never needs the history before.
API keys never enter an event: a definition holds only a reference to its key.
"""

import math
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, TypeVar

from domain.aggregate import Aggregate
from domain.events import stored_as

PROVIDERS = ("openai", "anthropic", "fastgpt", "dify", "custom", "demo")
STATUSES = ("active", "inactive")
MAX_TEMPERATURE = 2.0
# Above the largest output window any supported model offers; a bigger number is a typo.
MAX_TOKENS_LIMIT = 200_000
MAX_NAME = 100
MAX_DESCRIPTION = 2000
MAX_MODEL = 200
# Each fallback may cost a full provider timeout before the next is asked: a user waits
# through all of them, so the list stays short.
MAX_FALLBACKS = 3
# Agent ids appear in URLs (/api/agents/{id}), so they keep to URL-safe characters.
AGENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Fixed: an agent's stream id is derived from its id, so every instance agrees on it and
# two instances registering one agent collide on the same stream.
AGENT_NAMESPACE = uuid.UUID("0c7b6a52-3d4e-4f1a-9b8c-2e5d7f9a1b3c")
# "#" cannot appear in an agent id, so the roster's stream never collides with an agent's.
ROSTER_ID = str(uuid.uuid5(AGENT_NAMESPACE, "#roster"))

OVERRIDABLE = ("name", "description", "model", "temperature", "max_tokens")

T = TypeVar("T")


class InvalidAgent(ValueError):
    """A definition or a change breaks a rule; the message names the field."""


def agent_stream_id(agent_id: str) -> str:
    return str(uuid.uuid5(AGENT_NAMESPACE, agent_id))


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDefinition:
    """One agent's settings; `key_ref` is `env:NAME` or a fingerprint, never the key itself."""

    name: str
    description: str
    category: str
    provider: str
    endpoint: str
    key_ref: str
    model: str
    avatar: str | None = None
    status: str = "active"
    capabilities: tuple[str, ...] = ()
    temperature: float | None = None
    max_tokens: int | None = None
    fallbacks: tuple[str, ...] = ()
    """Agents asked in order when this one fails before its first word (ids in the same file)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentOverrides:
    """What an administrator set; None leaves the file's value in force."""

    name: str | None = None
    description: str | None = None
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None

    def given(self) -> dict[str, object]:
        return {f: value for f in OVERRIDABLE if (value := getattr(self, f)) is not None}

    def without(self, names: Iterable[str]) -> "AgentOverrides":
        return replace(self, **dict.fromkeys(set(names) & set(OVERRIDABLE)))

    def over(self, older: "AgentOverrides") -> "AgentOverrides":
        """These overrides laid over older ones: a field set here wins."""
        return AgentOverrides(
            name=given_or(self.name, older.name),
            description=given_or(self.description, older.description),
            model=given_or(self.model, older.model),
            temperature=given_or(self.temperature, older.temperature),
            max_tokens=given_or(self.max_tokens, older.max_tokens),
        )


def given_or(value: T | None, fallback: T) -> T:
    return fallback if value is None else value


@stored_as("AgentRegistered")
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRegistered:
    """The agent appeared in the agents file: for the first time, or again after leaving it."""

    agent_id: str
    definition: AgentDefinition
    overrides: AgentOverrides = AgentOverrides()


@stored_as("AgentReconfigured")
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentReconfigured:
    """The file's definition or an administrator's overrides changed; `changed` names the
    effective fields that now differ."""

    agent_id: str
    source: str  # "file" | "admin"
    definition: AgentDefinition
    overrides: AgentOverrides
    changed: tuple[str, ...]


@stored_as("AgentDeactivated")
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentDeactivated:
    agent_id: str
    reason: str


@stored_as("AgentEnrolled")
@dataclass(frozen=True, slots=True, kw_only=True)
class AgentEnrolled:
    """An agent id joined the roster, the one stream that lists every agent ever registered."""

    agent_id: str


AgentEvent = AgentRegistered | AgentReconfigured | AgentDeactivated


def check_agent_id(agent_id: str) -> None:
    if not AGENT_ID_PATTERN.match(agent_id):
        raise InvalidAgent(
            f"id: {agent_id!r} must be 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidAgent(f"name: must be 1 to {MAX_NAME} characters")
    return name


def check_description(description: str) -> str:
    description = description.strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidAgent(f"description: must be at most {MAX_DESCRIPTION} characters")
    return description


def check_model(model: str) -> str:
    model = model.strip()
    if not 1 <= len(model) <= MAX_MODEL:
        raise InvalidAgent(f"model: must be 1 to {MAX_MODEL} characters")
    return model


def check_temperature(temperature: float | None) -> None:
    # NaN fails every comparison, so it is refused along with the out-of-range values.
    if temperature is not None and not (
        math.isfinite(temperature) and 0 <= temperature <= MAX_TEMPERATURE
    ):
        raise InvalidAgent(f"temperature: must be between 0 and {MAX_TEMPERATURE:g}")


def check_max_tokens(max_tokens: int | None) -> None:
    if max_tokens is not None and not 1 <= max_tokens <= MAX_TOKENS_LIMIT:
        raise InvalidAgent(f"maxTokens: must be between 1 and {MAX_TOKENS_LIMIT}")


def check_fallbacks(agent_id: str, fallbacks: tuple[str, ...]) -> None:
    """The rules one agent's list must keep on its own; see `check_fallback_graph` for the
    rules across the file."""
    if len(fallbacks) > MAX_FALLBACKS:
        raise InvalidAgent(f"fallbacks: at most {MAX_FALLBACKS} agents")
    for fallback in fallbacks:
        if not AGENT_ID_PATTERN.match(fallback):
            raise InvalidAgent(f"fallbacks: {fallback!r} is not an agent id")
    if agent_id in fallbacks:
        raise InvalidAgent("fallbacks: an agent cannot be its own fallback")
    if len(set(fallbacks)) != len(fallbacks):
        raise InvalidAgent("fallbacks: an agent is named more than once")


def check_fallback_graph(definitions: Mapping[str, AgentDefinition]) -> None:
    """Every fallback names an agent of the same file, and no chain of them comes back to
    where it started; InvalidAgent names the first agent that breaks a rule."""
    for agent_id, definition in definitions.items():
        unknown = [f for f in definition.fallbacks if f not in definitions]
        if unknown:
            problem = f"{unknown[0]!r} is no agent of this file"
            raise InvalidAgent(f"agent {agent_id!r}: fallbacks: {problem}")
    done: set[str] = set()  # explored: no cycle runs through them
    for start in definitions:
        if start in done:
            continue
        path = [start]
        stack = [iter(definitions[start].fallbacks)]
        while stack:
            child = next(stack[-1], None)
            if child is None:
                stack.pop()
                done.add(path.pop())
            elif child in path:
                cycle = " -> ".join([*path[path.index(child) :], child])
                raise InvalidAgent(f"agent {child!r}: fallbacks: a cycle ({cycle})")
            elif child not in done:
                path.append(child)
                stack.append(iter(definitions[child].fallbacks))


def checked_definition(definition: AgentDefinition) -> AgentDefinition:
    """The definition with its text trimmed; InvalidAgent if it breaks a rule."""
    if definition.provider not in PROVIDERS:
        raise InvalidAgent(
            f"provider: {definition.provider!r} is not one of {', '.join(PROVIDERS)}"
        )
    if definition.status not in STATUSES:
        raise InvalidAgent(f"status: {definition.status!r} is not one of {', '.join(STATUSES)}")
    endpoint = definition.endpoint.strip()
    # The demo provider answers locally; every other one is reached over HTTP.
    if definition.provider != "demo" and not endpoint.startswith(("http://", "https://")):
        raise InvalidAgent("endpoint: must be an http:// or https:// URL")
    if not definition.category.strip():
        raise InvalidAgent("category: must not be empty")
    check_temperature(definition.temperature)
    check_max_tokens(definition.max_tokens)
    return replace(
        definition,
        fallbacks=tuple(definition.fallbacks),
        name=check_name(definition.name),
        description=check_description(definition.description),
        category=definition.category.strip(),
        endpoint=endpoint,
        model=check_model(definition.model),
    )


def checked_overrides(overrides: AgentOverrides) -> AgentOverrides:
    check_temperature(overrides.temperature)
    check_max_tokens(overrides.max_tokens)
    return replace(
        overrides,
        name=None if overrides.name is None else check_name(overrides.name),
        description=(
            None if overrides.description is None else check_description(overrides.description)
        ),
        model=None if overrides.model is None else check_model(overrides.model),
    )


def effective(definition: AgentDefinition, overrides: AgentOverrides) -> AgentDefinition:
    return replace(
        definition,
        name=given_or(overrides.name, definition.name),
        description=given_or(overrides.description, definition.description),
        model=given_or(overrides.model, definition.model),
        temperature=given_or(overrides.temperature, definition.temperature),
        max_tokens=given_or(overrides.max_tokens, definition.max_tokens),
    )


def differing(before: AgentDefinition, after: AgentDefinition) -> tuple[str, ...]:
    return tuple(
        f.name for f in fields(AgentDefinition) if getattr(before, f.name) != getattr(after, f.name)
    )


def still_in_force(overrides: AgentOverrides, definition: AgentDefinition) -> AgentOverrides:
    """Drop overrides that equal the file's value: they no longer change anything."""
    return overrides.without(f for f, v in overrides.given().items() if getattr(definition, f) == v)


@dataclass(slots=True, kw_only=True)
class Agent(Aggregate):
    starts_with: ClassVar[type[Any]] = AgentRegistered

    definition: AgentDefinition
    """What the agents file said when it was last read."""
    overrides: AgentOverrides
    in_file: bool = True
    """False once the agent left the agents file: it stays in history, deactivated."""
    updated_at: str = ""

    @classmethod
    def register(cls, agent_id: str, definition: AgentDefinition) -> "Agent":
        """An agent new to the agents file, its registration pending."""
        check_agent_id(agent_id)
        return cls.begin(
            AgentRegistered(agent_id=agent_id, definition=checked_definition(definition))
        )

    @classmethod
    def started(cls, first: AgentRegistered, timestamp: str) -> "Agent":
        return cls(id=first.agent_id, definition=first.definition, overrides=first.overrides)

    @property
    def stream_id(self) -> str:
        return agent_stream_id(self.id)

    def apply(self, event: object, timestamp: str) -> None:
        match event:
            case AgentRegistered(definition=definition, overrides=overrides):
                self.definition, self.overrides, self.in_file = definition, overrides, True
            case AgentReconfigured(definition=definition, overrides=overrides):
                self.definition, self.overrides = definition, overrides
            case AgentDeactivated():
                self.in_file = False
        self.updated_at = timestamp

    @property
    def settings(self) -> AgentDefinition:
        """The values in force: the file's definition with the overrides applied."""
        return effective(self.definition, self.overrides)

    @property
    def status(self) -> str:
        return self.definition.status if self.in_file else "inactive"

    def follow_file(
        self, definition: AgentDefinition
    ) -> AgentRegistered | AgentReconfigured | None:
        """What the agents file now says; None when it says what it said before."""
        definition = checked_definition(definition)
        # An override stands until the file changes that field; then the file wins.
        kept = self.overrides.without(differing(self.definition, definition))
        overrides = still_in_force(kept, definition)
        if not self.in_file:
            return self.trigger(
                AgentRegistered(agent_id=self.id, definition=definition, overrides=overrides)
            )
        if definition == self.definition and overrides == self.overrides:
            return None
        reconfigured = AgentReconfigured(
            agent_id=self.id,
            source="file",
            definition=definition,
            overrides=overrides,
            changed=differing(self.settings, effective(definition, overrides)),
        )
        return self.trigger(reconfigured)

    def reconfigure(self, changes: AgentOverrides) -> AgentReconfigured | None:
        """An administrator's change; None when it changes nothing."""
        changes = checked_overrides(changes)
        overrides = still_in_force(changes.over(self.overrides), self.definition)
        if overrides == self.overrides:
            return None
        reconfigured = AgentReconfigured(
            agent_id=self.id,
            source="admin",
            definition=self.definition,
            overrides=overrides,
            changed=differing(self.settings, effective(self.definition, overrides)),
        )
        return self.trigger(reconfigured)

    def leave_file(self) -> AgentDeactivated | None:
        if not self.in_file:
            return None
        left = AgentDeactivated(agent_id=self.id, reason="removed from the agents file")
        return self.trigger(left)
