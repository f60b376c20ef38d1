/** `ApiCall`: one HTTP exchange as data; the routes build them, the transport sends them. */

export type Method = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface ApiCall {
  method: Method;
  /** Under the API base URL (`.../api`), or under the server's root when `fromRoot`. */
  path: string;
  query?: Record<string, string | number | undefined> | undefined;
  json?: unknown;
  form?: FormData | undefined;
  /** Send the bearer token, and refresh it once if the answer is 401 (default true). */
  authenticated?: boolean;
  fromRoot?: boolean;
  headers?: Record<string, string>;
  signal?: AbortSignal | undefined;
}

/** A path segment: an id is encoded whole, slashes and all. */
export function segment(value: string): string {
  return encodeURIComponent(value);
}
