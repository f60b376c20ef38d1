"""ReconfigureAgent: an administrator changes an agent's name, description, model or sampling.

The change is kept as overrides over the agents file, so it survives restarts and reloads of
an unchanged file; a file that later changes one of those fields wins for that field.
"""

from dataclasses import dataclass

from application.agents import AgentCatalogue, load_agent
from application.errors import NotFound, ServiceUnavailable, StreamConflict, ValidationFailed
from application.ports import EventStore, PendingEvent
from domain.agent import Agent, AgentOverrides, InvalidAgent, agent_stream_id

ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class ReconfigureAgent:
    agent_id: str
    changes: AgentOverrides


def reconfigure_agent(
    store: EventStore, catalogue: AgentCatalogue, command: ReconfigureAgent
) -> Agent:
    for _ in range(ATTEMPTS):
        agent = load_agent(store, command.agent_id)
        if agent is None or not agent.in_file:
            raise NotFound("Agent not found", f"no agent with id {command.agent_id!r}")
        try:
            event = agent.reconfigure(command.changes)
        except InvalidAgent as error:
            raise ValidationFailed("Invalid agent configuration", str(error)) from None
        if event is not None:
            try:
                store.append([PendingEvent(agent_stream_id(agent.id), agent.version + 1, event)])
            except StreamConflict:
                continue  # a reload or another administrator came first; decide again
            # Read back what was stored: its timestamp is the store's.
            agent = load_agent(store, command.agent_id) or agent
        catalogue.remember(agent)
        return agent
    raise ServiceUnavailable("The agent is being changed elsewhere", "try again shortly")
