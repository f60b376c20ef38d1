"""/api/admin/api-keys: administrators create, list and revoke keys for service accounts.

A key's secret is in the answer to its creation and nowhere else, ever.
"""

from typing import Annotated, Any

import msgspec
from anyio import to_thread
from litestar import Controller, delete, get, post
from litestar.params import JSONBody, QueryParameter

from api.dependencies import ApiKeysDep, CallerDep, WrittenId
from api.envelope import paginated, success
from application.create_api_key import CreateApiKey, create_api_key
from application.list_api_keys import list_api_keys
from application.paging import MAX_PAGE
from application.revoke_api_key import RevokeApiKey, revoke_api_key
from domain.api_key import PREFIX, ApiKey

MAX_LIMIT = 100


class CreateApiKeyBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    name: str
    role: str = "user"
    scopes: list[str] = msgspec.field(default_factory=list)


def key_view(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role,
        "scopes": list(key.scopes),
        "prefix": PREFIX,
        "createdBy": key.created_by,
        "createdAt": key.created_at,
        "revoked": key.revoked,
        "revokedAt": key.revoked_at,
    }


class ApiKeysController(Controller):
    path = "/api/admin/api-keys"

    @post("/", status_code=200)
    async def create(
        self, data: JSONBody[CreateApiKeyBody], api_keys: ApiKeysDep, admin: CallerDep
    ) -> dict[str, Any]:
        command = CreateApiKey(data.name, data.role, tuple(data.scopes), admin.user_id)
        issued = await to_thread.run_sync(create_api_key, api_keys, command)
        view = {**key_view(issued.key), "key": issued.secret}
        return success(view, "API key created; its secret is shown this once only")

    @get("/")
    async def list(
        self,
        api_keys: ApiKeysDep,
        admin: CallerDep,
        page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 20,
    ) -> dict[str, Any]:
        found = await to_thread.run_sync(list_api_keys, api_keys, page, limit)
        return paginated([key_view(key) for key in found.keys], page, limit, found.total)

    @delete("/{key_id:str}", status_code=200)
    async def revoke(
        self, key_id: WrittenId, api_keys: ApiKeysDep, admin: CallerDep
    ) -> dict[str, Any]:
        command = RevokeApiKey(key_id, admin.user_id)
        key = await to_thread.run_sync(revoke_api_key, api_keys, command)
        return success(key_view(key), "API key revoked")
