/** `client.admin`: statistics, the audit trail, users, API keys and budgets (administrators only). */

import * as routes from "../routes.js";
import type { Transport } from "../transport.js";
import type {
  AdminStats,
  ApiKey,
  AuditEntry,
  AuditQuery,
  AuditVerification,
  Budget,
  BudgetScope,
  CreatedApiKey,
  ErasedUser,
  ManagedUser,
  NewApiKey,
  NewBudget,
  Page,
  PageQuery,
  UserChange,
  UserQuery,
} from "../types.js";

export class Users {
  constructor(private readonly transport: Transport) {}

  /** Users, newest first; `email` matches any part of the address. */
  list(query: UserQuery = {}): Promise<Page<ManagedUser>> {
    return this.transport.data(routes.listUsers(query));
  }

  /** Change the role, the status ("deactivated" ends every sign-in and API key), or both. */
  update(userId: string, change: UserChange): Promise<ManagedUser> {
    return this.transport.data(routes.changeUser(userId, change));
  }

  /**
   * Erase the user for good: their conversations, files and personal fields become
   * unreadable (their data keys destroyed, file bytes deleted), the account closed.
   */
  erase(userId: string): Promise<ErasedUser> {
    return this.transport.data(routes.eraseUser(userId));
  }
}

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

/** Budgets of a user (by id), an API key (by id) or a role (by name). */
export class Budgets {
  constructor(private readonly transport: Transport) {}

  /** Limit a day's or a month's tokens, cost or both. */
  set(scope: BudgetScope, id: string, budget: NewBudget): Promise<Budget> {
    return this.transport.data(routes.setBudget(scope, id, budget));
  }

  /** The budget with what its period has used and has left, and when it resets. */
  get(scope: BudgetScope, id: string): Promise<Budget> {
    return this.transport.data(routes.getBudget(scope, id));
  }

  async remove(scope: BudgetScope, id: string): Promise<void> {
    await this.transport.data(routes.removeBudget(scope, id));
  }
}

export class Admin {
  readonly apiKeys: ApiKeys;
  readonly budgets: Budgets;
  readonly users: Users;

  constructor(private readonly transport: Transport) {
    this.apiKeys = new ApiKeys(transport);
    this.budgets = new Budgets(transport);
    this.users = new Users(transport);
  }

  stats(): Promise<AdminStats> {
    return this.transport.data(routes.adminStats());
  }

  audit(query: AuditQuery = {}): Promise<Page<AuditEntry>> {
    return this.transport.data(routes.adminAudit(query));
  }

  /** The audit trail's and the event log's hash chains, recomputed by the server. */
  verifyAudit(): Promise<AuditVerification> {
    return this.transport.data(routes.adminVerifyAudit());
  }
}
