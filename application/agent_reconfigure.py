"""ReconfigureAgent: an administrator changes an agent's name, description, model or sampling.

The change is kept as overrides over the agents file, so it survives restarts and reloads of
an unchanged file; a file that later changes one of those fields wins for that field.
"""

from dataclasses import dataclass

from application.agents import AgentCatalogue, load_agent
from application.errors import NotFound, ServiceUnavailable, ValidationFailed
from application.ports import EventStore
from application.repository import Repository
from application.retry import rerun_on_conflict_or
from domain.agent import Agent, AgentOverrides, InvalidAgent


@dataclass(frozen=True, slots=True)
class ReconfigureAgent:
    agent_id: str
    changes: AgentOverrides


def changed_elsewhere(*_: object) -> ServiceUnavailable:
    return ServiceUnavailable("The agent is being changed elsewhere", "try again shortly")


# A conflict is a reload or another administrator coming first: decide again on what it wrote.
@rerun_on_conflict_or(changed_elsewhere)
def reconfigure_agent(
    store: EventStore, catalogue: AgentCatalogue, command: ReconfigureAgent
) -> Agent:
    agent = load_agent(store, command.agent_id)
    if agent is None or not agent.in_file:
        raise NotFound("Agent not found", f"no agent with id {command.agent_id!r}")
    try:
        event = agent.reconfigure(command.changes)
    except InvalidAgent as error:
        raise ValidationFailed("Invalid agent configuration", str(error)) from None
    if event is not None:
        Repository(store).save(agent)
        # Read back what was stored: its timestamp is the store's.
        agent = load_agent(store, command.agent_id) or agent
    catalogue.remember(agent)
    return agent
