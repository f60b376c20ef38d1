import type { TokenPair } from "./types.js";

export type OnTokens = (pair: TokenPair) => void;

/** The tokens a client holds, and who to tell when they change. */
export class Credentials {
  constructor(
    public token: string | undefined,
    public refreshToken: string | undefined,
    private readonly onTokens: OnTokens | undefined,
  ) {}

  store(pair: TokenPair): void {
    this.token = pair.token;
    this.refreshToken = pair.refreshToken;
    this.onTokens?.(pair);
  }

  clear(): void {
    this.token = undefined;
    this.refreshToken = undefined;
  }

  /** Whether a 401 for `tokenSent` is worth a refresh (or a retry with a newer token). */
  canRefreshAfter(tokenSent: string | undefined): boolean {
    return this.refreshToken !== undefined || this.token !== tokenSent;
  }

  bearer(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }
}
