/** `client.admin`: statistics, the audit trail and API keys (administrators only). */

import * as routes from "../routes.js";
import type { Transport } from "../transport.js";
import type {
  AdminStats,
  ApiKey,
  AuditEntry,
  AuditQuery,
  CreatedApiKey,
  NewApiKey,
  Page,
  PageQuery,
} from "../types.js";

export class ApiKeys {
  constructor(private readonly transport: Transport) {}

  /** A key for a service account; its secret (`.key`) is in this answer only. */
  create(key: NewApiKey): Promise<CreatedApiKey> {
    return this.transport.data(routes.createApiKey(key));
  }

  list(query: PageQuery = {}): Promise<Page<ApiKey>> {
    return this.transport.data(routes.listApiKeys(query));
  }

  revoke(keyId: string): Promise<ApiKey> {
    return this.transport.data(routes.revokeApiKey(keyId));
  }
}

export class Admin {
  readonly apiKeys: ApiKeys;

  constructor(private readonly transport: Transport) {
    this.apiKeys = new ApiKeys(transport);
  }

  stats(): Promise<AdminStats> {
    return this.transport.data(routes.adminStats());
  }

  audit(query: AuditQuery = {}): Promise<Page<AuditEntry>> {
    return this.transport.data(routes.adminAudit(query));
  }
}
