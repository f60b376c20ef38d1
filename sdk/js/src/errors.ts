/**
 * Errors: one class per envelope `code`, all extending `LLMChatError`.
 *
 * An error answer `{code, message, error: {type, details}}` becomes the class named for its
 * code, carrying code, message, HTTP status, error type and details. An `event: error` frame
 * in the middle of a stream becomes the same class with `status` undefined (the HTTP answer
 * was a 200).
 */

export interface ErrorInit {
  code?: string;
  status?: number | undefined;
  errorType?: string | undefined;
  details?: unknown;
  retryAfter?: number | undefined;
  requestId?: string | undefined;
  cause?: unknown;
}

export class LLMChatError extends Error {
  readonly code: string;
  readonly status: number | undefined;
  readonly errorType: string | undefined;
  readonly details: unknown;
  /** Seconds to wait before trying again, from `Retry-After` (429 and 503). */
  readonly retryAfter: number | undefined;
  readonly requestId: string | undefined;

  constructor(message: string, init: ErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.code = init.code ?? "ERROR";
    this.status = init.status;
    this.errorType = init.errorType;
    this.details = init.details;
    this.retryAfter = init.retryAfter;
    this.requestId = init.requestId;
  }
}

/** 400 VALIDATION_ERROR: the request's parameters failed validation. */
export class ValidationError extends LLMChatError {}
/** 401 UNAUTHORIZED: no valid token (after one refresh, if the client could refresh). */
export class UnauthorizedError extends LLMChatError {}
/** 403 FORBIDDEN: signed in, but not allowed. */
export class ForbiddenError extends LLMChatError {}
/** 404 NOT_FOUND. */
export class NotFoundError extends LLMChatError {}
/** 405 METHOD_NOT_ALLOWED. */
export class MethodNotAllowedError extends LLMChatError {}
/** 406 NOT_ACCEPTABLE: the server does not serve the API version asked for. */
export class NotAcceptableError extends LLMChatError {}
/** 409 CONFLICT. */
export class ConflictError extends LLMChatError {}
/** 413 PAYLOAD_TOO_LARGE: e.g. an upload over 10 MiB. */
export class PayloadTooLargeError extends LLMChatError {}
/** 415 UNSUPPORTED_MEDIA_TYPE: e.g. a DWG sent to be parsed. */
export class UnsupportedMediaTypeError extends LLMChatError {}
/** 429 RATE_LIMITED; `retryAfter` says how many seconds to wait. */
export class RateLimitedError extends LLMChatError {}
/** 500 INTERNAL_ERROR. */
export class InternalServerError extends LLMChatError {}
/** 502 BAD_GATEWAY: the agent's provider answered with nonsense or an error. */
export class BadGatewayError extends LLMChatError {}
/** 503 SERVICE_UNAVAILABLE: the database or the agent's provider is unreachable. */
export class ServiceUnavailableError extends LLMChatError {}
/** The server could not be reached, or a stream could not be resumed. */
export class APIConnectionError extends LLMChatError {}
/** The server took longer than `timeoutMs` to answer. */
export class APITimeoutError extends APIConnectionError {}

type ErrorClass = new (message: string, init?: ErrorInit) => LLMChatError;

const ERROR_CLASSES: Record<string, ErrorClass> = {
  VALIDATION_ERROR: ValidationError,
  UNAUTHORIZED: UnauthorizedError,
  FORBIDDEN: ForbiddenError,
  NOT_FOUND: NotFoundError,
  METHOD_NOT_ALLOWED: MethodNotAllowedError,
  NOT_ACCEPTABLE: NotAcceptableError,
  CONFLICT: ConflictError,
  PAYLOAD_TOO_LARGE: PayloadTooLargeError,
  UNSUPPORTED_MEDIA_TYPE: UnsupportedMediaTypeError,
  RATE_LIMITED: RateLimitedError,
  INTERNAL_ERROR: InternalServerError,
  BAD_GATEWAY: BadGatewayError,
  SERVICE_UNAVAILABLE: ServiceUnavailableError,
};

const CODE_OF_STATUS: Record<number, string> = {
  400: "VALIDATION_ERROR",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  406: "NOT_ACCEPTABLE",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "RATE_LIMITED",
  500: "INTERNAL_ERROR",
  502: "BAD_GATEWAY",
  503: "SERVICE_UNAVAILABLE",
};

export function errorClass(code: string): ErrorClass {
  return ERROR_CLASSES[code] ?? LLMChatError;
}

function retryAfterOf(response: Response): number | undefined {
  const value = response.headers.get("retry-after");
  const seconds = value === null ? Number.NaN : Number(value);
  return Number.isFinite(seconds) ? seconds : undefined;
}

interface ErrorEnvelope {
  code?: unknown;
  message?: unknown;
  error?: { type?: unknown; details?: unknown } | null;
}

/** The error for an answer that is not 2xx; reads its body. */
export async function errorFromResponse(response: Response): Promise<LLMChatError> {
  const text = await response.text().catch(() => "");
  let body: ErrorEnvelope | undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    body = typeof parsed === "object" && parsed !== null ? (parsed as ErrorEnvelope) : undefined;
  } catch {
    body = undefined;
  }
  const fallbackCode = CODE_OF_STATUS[response.status] ?? `HTTP_${response.status}`;
  const code = typeof body?.code === "string" ? body.code : fallbackCode;
  const message =
    typeof body?.message === "string" && body.message
      ? body.message
      : response.statusText || `HTTP ${response.status}`;
  const type = body?.error?.type;
  return new (errorClass(code))(message, {
    code,
    status: response.status,
    errorType: typeof type === "string" ? type : undefined,
    details: body ? body.error?.details : text.slice(0, 500) || undefined,
    retryAfter: retryAfterOf(response),
    requestId: response.headers.get("x-request-id") ?? undefined,
  });
}

/** The error for an `event: error` frame of a stream. */
export function errorFromFrame(data: Record<string, unknown>): LLMChatError {
  const code = typeof data.code === "string" && data.code ? data.code : "STREAM_ERROR";
  const message =
    typeof data.message === "string" && data.message ? data.message : "The reply failed";
  return new (errorClass(code))(message, { code, details: data.messageId });
}
