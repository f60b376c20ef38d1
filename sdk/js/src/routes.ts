/** Every route of the LLMChat API as an `ApiCall` builder, in the spec's order. */

import { type ApiCall, segment } from "./api-call.js";
import type {
  AgentQuery,
  AgentUpdate,
  AuditQuery,
  BudgetScope,
  ChatConfig,
  ChatMessage,
  HistoryQuery,
  NewApiKey,
  NewBudget,
  PageQuery,
  SaveSession,
  UserChange,
  UserQuery,
} from "./types.js";

const EVENT_STREAM = { Accept: "text/event-stream" };

// Authentication

export const register = (email: string, password: string, name: string): ApiCall => ({
  method: "POST",
  path: "auth/register",
  json: { email, password, name },
  authenticated: false,
});

export const login = (email: string, password: string): ApiCall => ({
  method: "POST",
  path: "auth/login",
  json: { email, password },
  authenticated: false,
});

export const refresh = (refreshToken: string): ApiCall => ({
  method: "POST",
  path: "auth/refresh",
  json: { refreshToken },
  authenticated: false,
});

export const logout = (): ApiCall => ({ method: "POST", path: "auth/logout" });

export const eraseMe = (password: string): ApiCall => ({
  method: "DELETE",
  path: "auth/me",
  json: { password },
});

// Agents

export const listAgents = (query: AgentQuery = {}): ApiCall => ({
  method: "GET",
  path: "agents",
  query: { ...query },
});

export const getAgent = (agentId: string): ApiCall => ({
  method: "GET",
  path: `agents/${segment(agentId)}`,
});

export const updateAgent = (agentId: string, update: AgentUpdate): ApiCall => ({
  method: "PUT",
  path: `agents/${segment(agentId)}`,
  json: update,
});

export const agentStatus = (agentId: string): ApiCall => ({
  method: "GET",
  path: `agents/${segment(agentId)}/status`,
});

export const reloadAgents = (): ApiCall => ({ method: "POST", path: "agents/reload" });

// Chat

export interface CompletionBody {
  agentId: string;
  messages: ChatMessage[];
  stream: boolean;
  sessionId?: string;
  config?: ChatConfig;
}

export const complete = (body: CompletionBody, signal?: AbortSignal): ApiCall => ({
  method: "POST",
  path: "chat/completions",
  json: body,
  signal,
});

export const startStream = (body: CompletionBody, signal?: AbortSignal): ApiCall => ({
  method: "POST",
  path: "chat/completions",
  json: body,
  headers: EVENT_STREAM,
  signal,
});

export const resumeStream = (
  messageId: string,
  lastEventId: number,
  signal?: AbortSignal,
): ApiCall => ({
  method: "GET",
  path: `chat/streams/${segment(messageId)}`,
  headers: { ...EVENT_STREAM, "Last-Event-ID": String(lastEventId) },
  signal,
});

export const cancelStream = (messageId: string): ApiCall => ({
  method: "POST",
  path: `chat/streams/${segment(messageId)}/cancel`,
});

export const listSessions = (query: PageQuery = {}): ApiCall => ({
  method: "GET",
  path: "chat/sessions",
  query: { ...query },
});

export const sessionHistory = (sessionId: string, query: HistoryQuery = {}): ApiCall => ({
  method: "GET",
  path: `chat/sessions/${segment(sessionId)}/history`,
  query: { ...query },
});

export const saveSession = (session: SaveSession): ApiCall => ({
  method: "POST",
  path: "chat/sessions/save",
  json: { messages: [], ...session },
});

export const deleteSession = (sessionId: string): ApiCall => ({
  method: "DELETE",
  path: `chat/sessions/${segment(sessionId)}`,
});

// Files

export const uploadFile = (form: FormData): ApiCall => ({ method: "POST", path: "upload", form });

export const fileInfo = (fileId: string): ApiCall => ({
  method: "GET",
  path: `upload/${segment(fileId)}`,
});

export const deleteFile = (fileId: string): ApiCall => ({
  method: "DELETE",
  path: `upload/${segment(fileId)}`,
});

/** First and last byte, inclusive; `last` undefined for the end of the file. */
export interface ByteRange {
  first: number;
  last?: number;
}

export const downloadFile = (storedName: string, range?: ByteRange): ApiCall => ({
  method: "GET",
  path: `uploads/${segment(storedName)}`,
  fromRoot: true,
  headers: range ? { Range: `bytes=${range.first}-${range.last ?? ""}` } : {},
});

// CAD

export const parseSentDrawing = (form: FormData): ApiCall => ({
  method: "POST",
  path: "cad/parse",
  form,
});

export const parseUploadedDrawing = (fileId: string): ApiCall => ({
  method: "POST",
  path: "cad/parse",
  json: { fileId },
});

export const drawingPreview = (fileId: string): ApiCall => ({
  method: "GET",
  path: `cad/${segment(fileId)}/preview.svg`,
  headers: { Accept: "image/svg+xml" },
});

// Administration

export const adminStats = (): ApiCall => ({ method: "GET", path: "admin/stats" });

export const adminAudit = (query: AuditQuery = {}): ApiCall => ({
  method: "GET",
  path: "admin/audit",
  query: { ...query },
});

export const adminVerifyAudit = (): ApiCall => ({ method: "GET", path: "admin/audit/verify" });

export const createApiKey = (key: NewApiKey): ApiCall => ({
  method: "POST",
  path: "admin/api-keys",
  json: key,
});

export const listApiKeys = (query: PageQuery = {}): ApiCall => ({
  method: "GET",
  path: "admin/api-keys",
  query: { ...query },
});

export const revokeApiKey = (keyId: string): ApiCall => ({
  method: "DELETE",
  path: `admin/api-keys/${segment(keyId)}`,
});

export const listUsers = (query: UserQuery = {}): ApiCall => ({
  method: "GET",
  path: "admin/users",
  query: { ...query },
});

export const changeUser = (userId: string, change: UserChange): ApiCall => ({
  method: "PATCH",
  path: `admin/users/${segment(userId)}`,
  json: change,
});

export const eraseUser = (userId: string): ApiCall => ({
  method: "POST",
  path: `admin/users/${segment(userId)}/erase`,
});

const budgetPath = (scope: BudgetScope, id: string): string =>
  `admin/budgets/${segment(scope)}/${segment(id)}`;

export const setBudget = (scope: BudgetScope, id: string, budget: NewBudget): ApiCall => ({
  method: "PUT",
  path: budgetPath(scope, id),
  json: budget,
});

export const getBudget = (scope: BudgetScope, id: string): ApiCall => ({
  method: "GET",
  path: budgetPath(scope, id),
});

export const removeBudget = (scope: BudgetScope, id: string): ApiCall => ({
  method: "DELETE",
  path: budgetPath(scope, id),
});

// Health and monitoring

export const health = (): ApiCall => ({
  method: "GET",
  path: "health",
  fromRoot: true,
  authenticated: false,
});

export const detailedHealth = (): ApiCall => ({
  method: "GET",
  path: "health/detailed",
  fromRoot: true,
  authenticated: false,
});

export const metrics = (): ApiCall => ({
  method: "GET",
  path: "metrics",
  fromRoot: true,
  headers: { Accept: "text/plain" },
});
