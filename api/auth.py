"""/api/auth: register, login, refresh, logout."""

from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from anyio import to_thread
from litestar import Controller, delete, post
from litestar.params import JSONBody

from api.dependencies import AccountsDep, CallerDep, ErasingDep, RequestContextDep
from api.envelope import success
from api.users import erasure_view
from application.accounts import Accounts
from application.erase_user import EraseUser, erase_user
from application.errors import Unauthorized
from application.refresh_tokens import RefreshTokens, refresh_tokens
from application.register_user import RegisterUser, register_user
from application.sign_in import SignIn, TokenPair, sign_in
from application.sign_out import SignOut, sign_out

Command = TypeVar("Command", SignIn, RefreshTokens)


class Wire(msgspec.Struct, rename="camel", forbid_unknown_fields=False):
    """The camelCase base of every request body."""


class RegisterBody(Wire):
    email: str
    password: str
    name: str


class LoginBody(Wire):
    email: str
    password: str


class ErasureBody(Wire, forbid_unknown_fields=True):
    password: str


class RefreshBody(Wire):
    refresh_token: str | None = None


def token_pair(pair: TokenPair) -> dict[str, Any]:
    user = {"id": pair.user.id, "email": pair.user.email, "role": pair.user.role}
    return {
        "token": pair.token,
        "refreshToken": pair.refresh_token,
        "expiresIn": pair.expires_in,
        "user": user,
    }


async def issued(
    use_case: Callable[[Accounts, Command], TokenPair],
    accounts: Accounts,
    command: Command,
    message: str,
) -> dict[str, Any]:
    """A sign-in or a refresh: the token pair the use case issues, as the answer."""
    pair = await to_thread.run_sync(use_case, accounts, command)
    return success(token_pair(pair), message)


class AuthController(Controller):
    path = "/api/auth"

    @post("/register", status_code=200)
    async def register(self, data: JSONBody[RegisterBody], accounts: AccountsDep) -> dict[str, Any]:
        command = RegisterUser(data.email, data.password, data.name)
        user = await to_thread.run_sync(register_user, accounts, command)
        view = {"id": user.id, "email": user.email, "name": user.name, "createdAt": user.created_at}
        return success({"user": view}, "Registered")

    @post("/login", status_code=200)
    async def login(
        self, data: JSONBody[LoginBody], accounts: AccountsDep, request_context: RequestContextDep
    ) -> dict[str, Any]:
        origin = request_context
        command = SignIn(data.email, data.password, origin.address, origin.user_agent)
        return await issued(sign_in, accounts, command, "Signed in")

    @post("/refresh", status_code=200)
    async def refresh(
        self,
        accounts: AccountsDep,
        request_context: RequestContextDep,
        data: JSONBody[RefreshBody | None] = None,
    ) -> dict[str, Any]:
        origin = request_context
        token = (data.refresh_token if data else None) or origin.token
        if not token:
            raise Unauthorized("Refresh token required", "send it as refreshToken or as bearer")
        command = RefreshTokens(token, origin.address, origin.user_agent)
        return await issued(refresh_tokens, accounts, command, "Refreshed")

    @delete("/me", status_code=200)
    async def erase_me(
        self, data: JSONBody[ErasureBody], erasing: ErasingDep, principal: CallerDep
    ) -> dict[str, Any]:
        """Erase your own account (with its password): every conversation, file and
        personal field of yours made unreadable, the account closed."""
        command = EraseUser(principal.user_id, principal.user_id, data.password)
        erased = await to_thread.run_sync(erase_user, erasing, command)
        return success(erasure_view(erased), "Account erased")

    @post("/logout", status_code=200)
    async def logout(
        self, accounts: AccountsDep, request_context: RequestContextDep, principal: CallerDep
    ) -> dict[str, Any]:
        command = SignOut(principal, request_context.address, request_context.user_agent)
        await to_thread.run_sync(sign_out, accounts, command)
        return success(None, "Signed out")
