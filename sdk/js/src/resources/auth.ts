/**
 * `client.auth`: register, login (keeps the tokens), refresh, logout (forgets them), and
 * erasing your own account.
 */

import * as routes from "../routes.js";
import type { Transport } from "../transport.js";
import type { ErasedUser, Registered, TokenPair } from "../types.js";

export class Auth {
  constructor(private readonly transport: Transport) {}

  register(email: string, password: string, name: string): Promise<Registered> {
    return this.transport.data(routes.register(email, password, name));
  }

  /** Sign in; the client then sends the token, and refreshes it once on a 401. */
  async login(email: string, password: string): Promise<TokenPair> {
    const pair = await this.transport.data<TokenPair>(routes.login(email, password));
    this.transport.credentials.store(pair);
    return pair;
  }

  /** New tokens for the held (or the given) refresh token; the old one stops working. */
  async refresh(refreshToken?: string): Promise<TokenPair> {
    const token = refreshToken ?? this.transport.credentials.refreshToken;
    if (token === undefined) throw new TypeError("no refresh token: log in first, or pass one");
    const pair = await this.transport.data<TokenPair>(routes.refresh(token));
    this.transport.credentials.store(pair);
    return pair;
  }

  /** End this sign-in on the server (its tokens stop working) and forget the tokens. */
  async logout(): Promise<void> {
    await this.transport.data<null>(routes.logout());
    this.transport.credentials.clear();
  }

  /**
   * Erase your own account for good (its conversations, files and personal fields become
   * unreadable; every sign-in ends) and forget the tokens.
   */
  async eraseMe(password: string): Promise<ErasedUser> {
    const erased = await this.transport.data<ErasedUser>(routes.eraseMe(password));
    this.transport.credentials.clear();
    return erased;
  }
}
