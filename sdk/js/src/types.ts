/** The API's request and response shapes (camelCase, as on the wire). */

export interface Pagination {
  page: number;
  limit: number;
  total: number;
  totalPages: number;
}

/** One page of a paginated list. */
export interface Page<T> {
  items: T[];
  pagination: Pagination;
}

export interface PageQuery {
  page?: number;
  limit?: number;
}

// Authentication

export interface User {
  id: string;
  email: string;
  name?: string;
  role?: string;
  createdAt?: string;
}

export interface Registered {
  user: User;
}

/** What login and refresh answer: an access token, its refresh token, and who it is. */
export interface TokenPair {
  token: string;
  refreshToken: string;
  expiresIn: number;
  user: User;
}

// Agents

export interface AgentConfig {
  model?: string | null;
  temperature?: number | null;
  maxTokens?: number | null;
}

export interface Agent {
  id: string;
  name: string;
  description?: string | null;
  category?: string | null;
  provider?: string | null;
  avatar?: string | null;
  status?: string | null;
  capabilities: string[];
  config: AgentConfig;
}

export interface AgentQuery extends PageQuery {
  category?: string;
  provider?: string;
}

export interface AgentUpdate {
  name?: string;
  description?: string;
  config?: AgentConfig;
}

/** Whether an agent's provider answers, and how fast (`latency` in milliseconds). */
export interface AgentStatus {
  id: string;
  provider?: string | null;
  status?: string | null;
  reachable: boolean;
  latency?: number | null;
  checkedAt?: string | null;
  error?: string | null;
}

export interface AgentsReloaded {
  registered: string[];
  reconfigured: string[];
  deactivated: string[];
}

// Chat

export interface ChatMessage {
  role: "system" | "user" | "assistant" | (string & {});
  content: string;
}

export interface ChatConfig {
  temperature?: number;
  maxTokens?: number;
}

export interface CompletionRequest {
  agentId: string;
  messages: ChatMessage[];
  stream?: boolean;
  sessionId?: string;
  config?: ChatConfig;
  /** Aborts the request (and, for a stream, stops reading it). */
  signal?: AbortSignal;
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
}

/** A whole (non-streamed) reply. */
export interface Completion {
  id: string;
  sessionId: string;
  message: ChatMessage;
  usage: Usage;
  finishReason?: string | null;
  createdAt?: string;
}

/** One piece of a streamed reply; `eventId` is its SSE frame id. */
export interface ChatChunk {
  type: string;
  content: string;
  messageId?: string;
  sessionId?: string;
  eventId: number;
}

/** The `end` frame of a stream. */
export interface StreamEnd {
  type: "end";
  messageId?: string;
  sessionId?: string;
  usage?: Usage;
  finishReason?: string | null;
}

export interface Cancelled {
  messageId: string;
  finishReason: string;
}

export interface Session {
  id: string;
  title?: string | null;
  agentId?: string | null;
  messageCount: number;
  lastMessageAt?: string | null;
  createdAt?: string;
}

export interface HistoryMessage {
  id: string;
  role: string;
  content: string;
  createdAt?: string;
  status?: string;
}

export interface HistoryQuery extends PageQuery {
  /** History before this message id. */
  before?: string;
}

export interface SaveSession {
  sessionId: string;
  title: string;
  agentId: string;
  messages?: ChatMessage[];
}

export interface SavedSession {
  id: string;
  title?: string | null;
  agentId?: string | null;
  messageCount: number;
}

// Files and CAD

/** An uploaded file; its bytes are at `url` (`/uploads/<id>.<ext>`, next to /api). */
export interface FileInfo {
  id: string;
  filename: string;
  originalName: string;
  size: number;
  type: string;
  url: string;
  uploadedAt?: string;
  description?: string;
  contentType?: string;
  sha256?: string;
}

export interface Point {
  x: number;
  y: number;
}

/** A model space entity: `type` (the DXF type) and `layer`, other fields per type. */
export interface CadEntity {
  type: string;
  layer: string;
  startPoint?: Point;
  endPoint?: Point;
  center?: Point;
  radius?: number;
  startAngle?: number;
  endAngle?: number;
  points?: Point[];
  closed?: boolean;
  location?: Point;
  majorAxis?: Point;
  ratio?: number;
  startParam?: number;
  endParam?: number;
  controlPoints?: Point[];
  fitPoints?: Point[];
  degree?: number;
  text?: string;
  insert?: Point;
  height?: number;
  rotation?: number;
  name?: string;
  xscale?: number;
  yscale?: number;
}

export interface CadLayer {
  name: string;
  color: number;
  visible: boolean;
}

export interface Bounds {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

export interface CadDrawing {
  entities: CadEntity[];
  layers: CadLayer[];
  bounds: Bounds;
  truncated?: boolean;
  entityCount?: number;
}

// Administration

export interface AdminStats {
  users: { total: number; active: number; newToday: number };
  agents: { total: number; active: number; categories: string[] };
  chats: { total: number; today: number; averageLength: number };
  system: { uptime: string; version: string; environment: string };
}

export interface AuditQuery extends PageQuery {
  userId?: string;
  action?: string;
  startDate?: string;
  endDate?: string;
}

/** One audit record: who did what to which resource, from where, and how it went. */
export interface AuditEntry {
  id?: string;
  position?: number;
  timestamp?: string;
  userId?: string | null;
  action?: string;
  resource?: string | null;
  outcome?: string | null;
  details?: unknown;
  ip?: string | null;
  userAgent?: string | null;
  requestId?: string | null;
  /** The entry's link in the audit hash chain. */
  hash?: string;
}

/** An event the seal chain does not hold as sealed: altered, deleted, inserted or moved. */
export interface ChainBreak {
  position: number;
  problem: string;
  streamId: string | null;
  version: number | null;
  type: string | null;
}

/** What `llmchat audit verify` says, for administrators: both chains. */
export interface AuditVerification {
  intact: boolean;
  auditChain: {
    intact: boolean;
    entries: number;
    head: string;
    verifiedTo: number;
    logHead: number;
    unaudited: number;
    quarantined: number[];
    problem: string | null;
    brokenAt: { id: string; position: number } | null;
  };
  eventChain: {
    intact: boolean;
    /** False: the sealer never ran on this database. */
    sealing: boolean;
    sealed: number;
    verifiedTo: number;
    seal: string;
    logHead: number;
    unsealed: number;
    broken: number;
    breaks: ChainBreak[];
    /** Positions retention rewrote in place (text taken out). */
    rewritten: number[];
  };
}

export type Role = "user" | "enterprise" | "admin";
export type UserStatus = "active" | "deactivated";

/** A user as administrators see it. */
export interface ManagedUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  status: UserStatus;
  createdAt?: string;
}

/** An erased account: closed for good, its content unreadable. */
export interface ErasedUser {
  id: string;
  status: "deactivated";
  erased: true;
  /** Data keys destroyed (their conversations' and their own). */
  keysDestroyed: number;
  /** Files whose bytes were deleted. */
  filesDeleted: number;
}

export interface UserQuery extends PageQuery {
  role?: Role;
  status?: UserStatus;
  /** Any part of the address. */
  email?: string;
}

/** Either or both; `status: "deactivated"` ends every sign-in and API key of the user. */
export interface UserChange {
  role?: Role;
  status?: UserStatus;
}

export interface ApiKey {
  id: string;
  name: string;
  role: string;
  scopes: string[];
  prefix?: string;
  createdBy?: string;
  createdAt?: string;
  revoked: boolean;
  revokedAt?: string | null;
}

export interface CreatedApiKey extends ApiKey {
  /** The secret `llmk_...`: shown in this answer and never again. */
  key: string;
}

export interface NewApiKey {
  name: string;
  role?: "user" | "enterprise" | "admin";
  scopes?: string[];
}

export type BudgetScope = "user" | "apiKey" | "role";

export interface NewBudget {
  period: "day" | "month";
  tokens?: number;
  /** In the price file's currency. */
  cost?: number;
}

export interface BudgetSpend {
  tokens: number;
  cost: number;
}

export interface Budget {
  scope: BudgetScope;
  /** The user id, API key id or role name. */
  id: string;
  period: "day" | "month";
  tokens: number | null;
  cost: number | null;
  setBy?: string;
  setAt?: string;
  used: BudgetSpend;
  /** Held by replies still running. */
  reserved: BudgetSpend;
  /** Null where the budget sets no such limit. */
  left: { tokens: number | null; cost: number | null };
  periodStart?: string;
  resetsAt: string;
}

// Health

export interface Health {
  status: string;
  timestamp?: string;
  services: Record<string, string>;
  version?: string;
}

export interface DetailedHealth {
  status: string;
  timestamp?: string;
  checks: Record<string, Record<string, unknown>>;
}
