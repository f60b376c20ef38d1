/** Sends `ApiCall`s with fetch: bearer token, one refresh on a 401, typed errors, timeouts. */

import type { ApiCall } from "./api-call.js";
import { Credentials } from "./credentials.js";
import {
  APIConnectionError,
  APITimeoutError,
  LLMChatError,
  UnauthorizedError,
  errorFromResponse,
} from "./errors.js";
import type { TokenPair } from "./types.js";

export const DEFAULT_BASE_URL = "http://localhost:3001/api";
/** The longest wait for an answer; a blocking completion answers when the model is done. */
export const DEFAULT_TIMEOUT_MS = 120_000;
const API_SUFFIX = /\/api(\/v\d+)?$/;

/** The API base (`.../api`) and the server root, where /health and /uploads live. */
export class ServerUrls {
  readonly api: string;
  readonly root: string;

  constructor(baseURL: string) {
    this.api = baseURL.replace(/\/+$/, "");
    this.root = this.api.replace(API_SUFFIX, "");
  }

  of(call: ApiCall): string {
    const url = new URL(`${call.fromRoot ? this.root : this.api}/${call.path}`);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url.toString();
  }
}

/** How hard a stream tries to resume after its connection drops. */
export class StreamPolicy {
  constructor(
    /** Attempts in a row without a new frame before giving up. */
    readonly resumeAttempts = 5,
    readonly firstDelayMs = 100,
    readonly maxDelayMs = 2_000,
  ) {}

  delayMs(failures: number): number {
    return Math.min(this.firstDelayMs * 2 ** (failures - 1), this.maxDelayMs);
  }
}

export interface TransportOptions {
  urls: ServerUrls;
  credentials: Credentials;
  fetch: typeof fetch;
  headers: Record<string, string>;
  timeoutMs: number;
  streamPolicy: StreamPolicy;
}

interface Envelope<T> {
  code: string;
  message: string;
  data: T;
}

export class Transport {
  readonly urls: ServerUrls;
  readonly credentials: Credentials;
  readonly streamPolicy: StreamPolicy;
  private readonly fetch: typeof fetch;
  private readonly headers: Record<string, string>;
  private readonly timeoutMs: number;
  private refreshing: Promise<void> | undefined;

  constructor(options: TransportOptions) {
    this.urls = options.urls;
    this.credentials = options.credentials;
    this.streamPolicy = options.streamPolicy;
    this.fetch = options.fetch;
    this.headers = options.headers;
    this.timeoutMs = options.timeoutMs;
  }

  /** The answer to `call`, checked: an error answer is thrown as an `LLMChatError`. */
  async send(call: ApiCall): Promise<Response> {
    const tokenSent = this.credentials.token;
    let response = await this.sendOnce(call);
    if (
      response.status === 401 &&
      call.authenticated !== false &&
      this.credentials.canRefreshAfter(tokenSent)
    ) {
      await response.body?.cancel().catch(() => undefined);
      await this.refreshAfter(tokenSent);
      response = await this.sendOnce(call);
    }
    if (!response.ok) throw await errorFromResponse(response);
    return response;
  }

  /** The `data` of the success envelope. */
  async data<T>(call: ApiCall): Promise<T> {
    const envelope = (await (await this.send(call)).json()) as Envelope<T>;
    return envelope.data;
  }

  /** A JSON body that is not enveloped (the health checks). */
  async json<T>(call: ApiCall): Promise<T> {
    return (await (await this.send(call)).json()) as T;
  }

  async text(call: ApiCall): Promise<string> {
    return (await this.send(call)).text();
  }

  async bytes(call: ApiCall): Promise<Uint8Array> {
    return new Uint8Array(await (await this.send(call)).arrayBuffer());
  }

  private async sendOnce(call: ApiCall): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: "application/json",
      ...this.headers,
      ...call.headers,
      ...(call.authenticated === false ? {} : this.credentials.bearer()),
    };
    let body: BodyInit | undefined;
    if (call.json !== undefined) {
      body = JSON.stringify(call.json);
      headers["Content-Type"] = "application/json";
    } else if (call.form) {
      body = call.form;
    }
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), this.timeoutMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout.signal]) : timeout.signal;
    try {
      return await this.fetch(this.urls.of(call), { method: call.method, headers, body, signal });
    } catch (error) {
      if (call.signal?.aborted) throw error; // the caller's own abort: theirs to handle
      if (timeout.signal.aborted) {
        throw new APITimeoutError(`no answer within ${this.timeoutMs} ms`, {
          code: "CONNECTION_ERROR",
          cause: error,
        });
      }
      throw new APIConnectionError(describe(error), { code: "CONNECTION_ERROR", cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Refresh the tokens, unless they were refreshed since `tokenSent` was sent. Refresh tokens
   * rotate and the server revokes a whole sign-in when a spent one is used again, so only
   * one refresh runs at a time and every caller waiting on a 401 shares it.
   */
  private async refreshAfter(tokenSent: string | undefined): Promise<void> {
    if (this.credentials.token !== tokenSent) return;
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    await this.refreshing;
  }

  private async refresh(): Promise<void> {
    const refreshToken = this.credentials.refreshToken;
    if (refreshToken === undefined) return;
    try {
      const pair = await this.data<TokenPair>({
        method: "POST",
        path: "auth/refresh",
        json: { refreshToken },
        authenticated: false,
      });
      this.credentials.store(pair);
    } catch (error) {
      if (error instanceof UnauthorizedError) this.credentials.refreshToken = undefined;
      throw error;
    }
  }
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.name}: ${error.message}${cause}`;
}

/** Errors that a retry a moment later may not meet again. */
export function worthRetrying(error: unknown): boolean {
  if (error instanceof APIConnectionError) return true;
  return error instanceof LLMChatError && [502, 503, 504].includes(error.status ?? 0);
}
