/** `client.chat`: completions (blocking, or a resumable stream), streams and sessions. */

import { ChatStream } from "../chat-stream.js";
import * as routes from "../routes.js";
import { StreamState } from "../stream-state.js";
import type { Transport } from "../transport.js";
import type {
  Cancelled,
  Completion,
  CompletionRequest,
  HistoryMessage,
  HistoryQuery,
  Page,
  PageQuery,
  SaveSession,
  SavedSession,
  Session,
} from "../types.js";

/** Replies that are (or were) streamed, by message id. */
export class Streams {
  constructor(private readonly transport: Transport) {}

  /** The frames after `lastEventId`, then the live rest; a finished reply is replayed. */
  async resume(
    messageId: string,
    options: { lastEventId?: number; signal?: AbortSignal } = {},
  ): Promise<ChatStream> {
    const state = new StreamState(messageId, options.lastEventId ?? 0);
    const call = routes.resumeStream(messageId, state.lastEventId, options.signal);
    const response = await this.transport.send(call);
    return new ChatStream(this.transport, response, state, options.signal);
  }

  cancel(messageId: string): Promise<Cancelled> {
    return this.transport.data(routes.cancelStream(messageId));
  }
}

export class Sessions {
  constructor(private readonly transport: Transport) {}

  list(query: PageQuery = {}): Promise<Page<Session>> {
    return this.transport.data(routes.listSessions(query));
  }

  /** Newest messages first by page, oldest first within a page. */
  history(sessionId: string, query: HistoryQuery = {}): Promise<Page<HistoryMessage>> {
    return this.transport.data(routes.sessionHistory(sessionId, query));
  }

  save(session: SaveSession): Promise<SavedSession> {
    return this.transport.data(routes.saveSession(session));
  }

  async delete(sessionId: string): Promise<void> {
    await this.transport.data<null>(routes.deleteSession(sessionId));
  }
}

export class Chat {
  readonly streams: Streams;
  readonly sessions: Sessions;

  constructor(private readonly transport: Transport) {
    this.streams = new Streams(transport);
    this.sessions = new Sessions(transport);
  }

  /**
   * A reply from the agent: whole, or (`stream: true`) as an async iterable of chunks.
   * A stream whose connection drops is resumed where it stopped, transparently.
   */
  completions(request: CompletionRequest & { stream: true }): Promise<ChatStream>;
  completions(request: CompletionRequest & { stream?: false }): Promise<Completion>;
  completions(request: CompletionRequest): Promise<ChatStream | Completion>;
  async completions(request: CompletionRequest): Promise<ChatStream | Completion> {
    const { signal, ...fields } = request;
    const body: routes.CompletionBody = { ...fields, stream: request.stream === true };
    if (!body.stream) return this.transport.data<Completion>(routes.complete(body, signal));
    const response = await this.transport.send(routes.startStream(body, signal));
    return new ChatStream(this.transport, response, new StreamState(), signal);
  }
}
