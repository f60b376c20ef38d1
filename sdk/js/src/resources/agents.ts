/** `client.agents`: list, get, update (admin), status, reload (admin). */

import * as routes from "../routes.js";
import type { Transport } from "../transport.js";
import type {
  Agent,
  AgentQuery,
  AgentStatus,
  AgentUpdate,
  AgentsReloaded,
  Page,
} from "../types.js";

export class Agents {
  constructor(private readonly transport: Transport) {}

  list(query: AgentQuery = {}): Promise<Page<Agent>> {
    return this.transport.data(routes.listAgents(query));
  }

  get(agentId: string): Promise<Agent> {
    return this.transport.data(routes.getAgent(agentId));
  }

  update(agentId: string, update: AgentUpdate): Promise<Agent> {
    return this.transport.data(routes.updateAgent(agentId, update));
  }

  status(agentId: string): Promise<AgentStatus> {
    return this.transport.data(routes.agentStatus(agentId));
  }

  reload(): Promise<AgentsReloaded> {
    return this.transport.data(routes.reloadAgents());
  }
}
