/** `LLMChatClient`: the whole LLMChat API over fetch (Node 20+ and browsers). */

import { Credentials, type OnTokens } from "./credentials.js";
import { Admin } from "./resources/admin.js";
import { Agents } from "./resources/agents.js";
import { Auth } from "./resources/auth.js";
import { Cad } from "./resources/cad.js";
import { Chat } from "./resources/chat.js";
import { Files } from "./resources/files.js";
import * as routes from "./routes.js";
import {
  DEFAULT_BASE_URL,
  DEFAULT_TIMEOUT_MS,
  ServerUrls,
  StreamPolicy,
  Transport,
} from "./transport.js";
import type { DetailedHealth, Health, TokenPair } from "./types.js";

export interface ClientOptions {
  /** The API base, ending in `/api` (or `/api/v1`); default `http://localhost:3001/api`. */
  baseURL?: string;
  token?: string;
  /** With it (or after `login`), a call answered 401 refreshes the tokens once and is retried. */
  refreshToken?: string;
  /** Hears of every new token pair (login and refresh), to keep them somewhere. */
  onTokens?: OnTokens;
  /** The fetch to use; default the global one. */
  fetch?: typeof fetch;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** The longest wait for an answer to start, in ms (default 120 000). */
  timeoutMs?: number;
  /** Resume attempts in a row, without a new frame, before a broken stream gives up (5). */
  streamResumeAttempts?: number;
}

export class LLMChatClient {
  readonly auth: Auth;
  readonly agents: Agents;
  readonly chat: Chat;
  readonly files: Files;
  readonly cad: Cad;
  readonly admin: Admin;
  private readonly transport: Transport;

  constructor(options: ClientOptions = {}) {
    this.transport = new Transport({
      urls: new ServerUrls(options.baseURL ?? DEFAULT_BASE_URL),
      credentials: new Credentials(options.token, options.refreshToken, options.onTokens),
      fetch: options.fetch ?? globalThis.fetch.bind(globalThis),
      headers: options.headers ?? {},
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      streamPolicy: new StreamPolicy(options.streamResumeAttempts),
    });
    this.auth = new Auth(this.transport);
    this.agents = new Agents(this.transport);
    this.chat = new Chat(this.transport);
    this.files = new Files(this.transport);
    this.cad = new Cad(this.transport);
    this.admin = new Admin(this.transport);
  }

  get token(): string | undefined {
    return this.transport.credentials.token;
  }

  get refreshToken(): string | undefined {
    return this.transport.credentials.refreshToken;
  }

  /** Sign in and keep the tokens (same as `client.auth.login`). */
  login(email: string, password: string): Promise<TokenPair> {
    return this.auth.login(email, password);
  }

  logout(): Promise<void> {
    return this.auth.logout();
  }

  /** `GET /health`; a 503 (unhealthy) is thrown as `ServiceUnavailableError`. */
  health(): Promise<Health> {
    return this.transport.json(routes.health());
  }

  healthDetailed(): Promise<DetailedHealth> {
    return this.transport.json(routes.detailedHealth());
  }

  /** Prometheus text; needs an admin token or an API key with the `metrics` scope. */
  metrics(): Promise<string> {
    return this.transport.text(routes.metrics());
  }
}
