"""/api/auth: register, login, refresh, logout."""

from typing import Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, post
from litestar.params import JSONBody

from api.dependencies import CallerDep, ContainerDep
from api.envelope import success
from api.principal import bearer_token, client_address, user_agent
from application.errors import Unauthorized
from application.refresh_tokens import RefreshTokens, refresh_tokens
from application.register_user import RegisterUser, register_user
from application.sign_in import SignIn, TokenPair, sign_in
from application.sign_out import SignOut, sign_out


class Wire(msgspec.Struct, rename="camel", forbid_unknown_fields=False):
    """The camelCase base of every request body."""


class RegisterBody(Wire):
    email: str
    password: str
    name: str


class LoginBody(Wire):
    email: str
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


class AuthController(Controller):
    path = "/api/auth"

    @post("/register", status_code=200)
    async def register(
        self, data: JSONBody[RegisterBody], container: ContainerDep
    ) -> dict[str, Any]:
        command = RegisterUser(data.email, data.password, data.name)
        user = await to_thread.run_sync(register_user, container.accounts, command)
        view = {"id": user.id, "email": user.email, "name": user.name, "createdAt": user.created_at}
        return success({"user": view}, "Registered")

    @post("/login", status_code=200)
    async def login(
        self,
        data: JSONBody[LoginBody],
        request: Request[Any, Any, Any],
        container: ContainerDep,
    ) -> dict[str, Any]:
        command = SignIn(data.email, data.password, client_address(request), user_agent(request))
        pair = await to_thread.run_sync(sign_in, container.accounts, command)
        return success(token_pair(pair), "Signed in")

    @post("/refresh", status_code=200)
    async def refresh(
        self,
        request: Request[Any, Any, Any],
        container: ContainerDep,
        data: JSONBody[RefreshBody | None] = None,
    ) -> dict[str, Any]:
        token = (data.refresh_token if data else None) or bearer_token(request)
        if not token:
            raise Unauthorized("Refresh token required", "send it as refreshToken or as bearer")
        command = RefreshTokens(token, client_address(request), user_agent(request))
        pair = await to_thread.run_sync(refresh_tokens, container.accounts, command)
        return success(token_pair(pair), "Refreshed")

    @post("/logout", status_code=200)
    async def logout(
        self,
        request: Request[Any, Any, Any],
        container: ContainerDep,
        principal: CallerDep,
    ) -> dict[str, Any]:
        command = SignOut(principal, client_address(request), user_agent(request))
        await to_thread.run_sync(sign_out, container.accounts, command)
        return success(None, "Signed out")
