import msgspec

from llmchat.models.base import Model


class AgentConfig(Model):
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


class Agent(Model):
    id: str
    name: str
    description: str | None = None
    category: str | None = None
    provider: str | None = None
    avatar: str | None = None
    status: str | None = None
    capabilities: list[str] = []
    config: AgentConfig = msgspec.field(default_factory=AgentConfig)


class AgentStatus(Model):
    """Whether an agent's provider answers, and how fast (`latency` in milliseconds)."""

    id: str
    provider: str | None = None
    status: str | None = None
    reachable: bool = False
    latency: float | None = None
    checked_at: str | None = None
    error: str | None = None


class AgentsReloaded(Model):
    """The agent ids the reload registered, reconfigured and deactivated."""

    registered: list[str] = []
    reconfigured: list[str] = []
    deactivated: list[str] = []
