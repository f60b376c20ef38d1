"""Agents as the API shows them (the file's definitions with the administrator's overrides).

Agent events carry the agent's whole state after the change, so each one sets its row outright
and applying one twice gives the same row. Key references stay out: nothing here is secret.
"""

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.agent import (
    AgentDeactivated,
    AgentDefinition,
    AgentOverrides,
    AgentReconfigured,
    AgentRegistered,
    effective,
)
from domain.events import Recorded
from projections.projection import EventByEvent

SETTINGS = (
    "name",
    "description",
    "category",
    "provider",
    "endpoint",
    "model",
    "avatar",
    "capabilities",
    "temperature",
    "max_tokens",
)


def settings_row(definition: AgentDefinition, overrides: AgentOverrides) -> tuple[Any, ...]:
    settings = effective(definition, overrides)
    return tuple(
        Jsonb(list(settings.capabilities)) if field == "capabilities" else getattr(settings, field)
        for field in SETTINGS
    )


class AgentsProjection(EventByEvent):
    name = "agents"
    tables = ("llmchat_agents",)
    schema = (
        """CREATE TABLE IF NOT EXISTS llmchat_agents (
            id text PRIMARY KEY,
            name text NOT NULL,
            description text NOT NULL,
            category text NOT NULL,
            provider text NOT NULL,
            endpoint text NOT NULL,
            model text NOT NULL,
            avatar text,
            capabilities jsonb NOT NULL,
            temperature double precision,
            max_tokens integer,
            status text NOT NULL,
            in_file boolean NOT NULL,
            registered_position bigint NOT NULL,
            updated_at timestamptz NOT NULL
        )""",
        """CREATE INDEX IF NOT EXISTS llmchat_agents_listed
            ON llmchat_agents (in_file, registered_position)""",
    )

    def apply_event(self, cursor: Cursor[Any], recorded: Recorded) -> None:
        event, at = recorded.event, recorded.timestamp
        match event:
            case AgentRegistered(agent_id=agent_id, definition=definition, overrides=overrides):
                columns = ", ".join(SETTINGS)
                updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in SETTINGS)
                cursor.execute(
                    f"INSERT INTO llmchat_agents (id, {columns}, status, in_file,"
                    " registered_position, updated_at)"
                    f" VALUES (%s, {', '.join(['%s'] * len(SETTINGS))}, %s, true, %s, %s)"
                    f" ON CONFLICT (id) DO UPDATE SET {updates}, status = EXCLUDED.status,"
                    " in_file = true, updated_at = EXCLUDED.updated_at",
                    (
                        agent_id,
                        *settings_row(definition, overrides),
                        definition.status,
                        recorded.position,
                        at,
                    ),
                )
            case AgentReconfigured(agent_id=agent_id, definition=definition, overrides=overrides):
                assignments = ", ".join(f"{c} = %s" for c in SETTINGS)
                cursor.execute(
                    f"UPDATE llmchat_agents SET {assignments},"
                    " status = CASE WHEN in_file THEN %s ELSE 'inactive' END, updated_at = %s"
                    " WHERE id = %s",
                    (*settings_row(definition, overrides), definition.status, at, agent_id),
                )
            case AgentDeactivated(agent_id=agent_id):
                cursor.execute(
                    "UPDATE llmchat_agents SET status = 'inactive', in_file = false,"
                    " updated_at = %s WHERE id = %s",
                    (at, agent_id),
                )
