/**
 * The TypeScript/JavaScript client of the LLMChat API.
 *
 * ```ts
 * const client = new LLMChatClient({ baseURL: 'http://localhost:3001/api', token });
 * const response = await client.chat.completions({ agentId, messages: [{ role: 'user', content: '你好' }], stream: true });
 * for await (const chunk of response) console.log(chunk.content);
 * ```
 */

export { ChatStream } from "./chat-stream.js";
export { type ClientOptions, LLMChatClient } from "./client.js";
export type { OnTokens } from "./credentials.js";
export {
  APIConnectionError,
  APITimeoutError,
  BadGatewayError,
  ConflictError,
  type ErrorInit,
  ForbiddenError,
  InternalServerError,
  LLMChatError,
  MethodNotAllowedError,
  NotAcceptableError,
  NotFoundError,
  PayloadTooLargeError,
  RateLimitedError,
  ServiceUnavailableError,
  UnauthorizedError,
  UnsupportedMediaTypeError,
  ValidationError,
} from "./errors.js";
export type { Admin, ApiKeys, Budgets, Users } from "./resources/admin.js";
export type { Agents } from "./resources/agents.js";
export type { Auth } from "./resources/auth.js";
export type { Cad } from "./resources/cad.js";
export type { Chat, Sessions, Streams } from "./resources/chat.js";
export type { Files, UploadOptions } from "./resources/files.js";
export type { ByteRange } from "./routes.js";
export { SSEDecoder, type ServerSentEvent } from "./sse.js";
export type * from "./types.js";
export type { FileInput } from "./uploads.js";
export { VERSION } from "./version.js";
