"""/api/admin/users: administrators list users, change a user's role and status, erase one.

The list reads the users read model (projections/users.py), so it trails the log by the
projection's lag; a change is decided on the user's own stream. A change's body names
`role`, `status` or both, each one of its values and nothing else: anything else is 400
VALIDATION_ERROR before an event is decided.
"""

from typing import Annotated, Any, Literal

import msgspec
from anyio import to_thread
from litestar import Controller, get, patch, post
from litestar.params import FromQuery, JSONBody, QueryParameter

from api.dependencies import AccountsDep, CallerDep, ErasingDep, UserViewsDep, WrittenId
from api.envelope import paginated, success
from application.change_user import ChangeUser, change_user
from application.erase_user import Erased, EraseUser, erase_user
from application.errors import ValidationFailed
from application.user_list import user_query
from domain.user import User

Role = Literal["user", "enterprise", "admin"]
Status = Literal["active", "deactivated"]


class UserChangeBody(msgspec.Struct, forbid_unknown_fields=True):
    role: Role | msgspec.UnsetType = msgspec.UNSET
    status: Status | msgspec.UnsetType = msgspec.UNSET


def given(value: str | msgspec.UnsetType) -> str | None:
    return None if isinstance(value, msgspec.UnsetType) else value


def erasure_view(erased: Erased) -> dict[str, Any]:
    return {
        "id": erased.user.id,
        "status": erased.user.status,
        "erased": True,
        "keysDestroyed": erased.keys_destroyed,
        "filesDeleted": erased.files_deleted,
    }


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "status": user.status,
        "createdAt": user.created_at,
    }


class UsersController(Controller):
    path = "/api/admin/users"

    @get("/")
    async def list(
        self,
        user_views: UserViewsDep,
        admin: CallerDep,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
        role: Annotated[str | None, QueryParameter(max_length=64)] = None,
        status: Annotated[str | None, QueryParameter(max_length=64)] = None,
        email: Annotated[str | None, QueryParameter(max_length=320)] = None,
    ) -> dict[str, Any]:
        """Users, newest first; `email` matches any part of the address."""
        query = user_query(page, limit, role, status, email)
        items, total = await to_thread.run_sync(user_views.page, query)
        return paginated(items, query.page, query.limit, total)

    @patch("/{user_id:str}", status_code=200)
    async def change(
        self,
        user_id: WrittenId,
        data: JSONBody[UserChangeBody],
        accounts: AccountsDep,
        user_views: UserViewsDep,
        admin: CallerDep,
    ) -> dict[str, Any]:
        """Change a user's role or status; deactivation ends their sign-ins and API keys."""
        role, status = given(data.role), given(data.status)
        if role is None and status is None:
            raise ValidationFailed("Invalid user change", "name a role or a status to change")
        command = ChangeUser(user_id, role, status, admin.user_id)
        user = await to_thread.run_sync(change_user, accounts, user_views, command)
        return success(user_view(user), "User changed")

    @post("/{user_id:str}/erase", status_code=200)
    async def erase(
        self, user_id: WrittenId, erasing: ErasingDep, admin: CallerDep
    ) -> dict[str, Any]:
        """Erase a user: every conversation, file and personal field of theirs made
        unreadable (their data keys destroyed, file bytes deleted), the account closed."""
        command = EraseUser(user_id, admin.user_id)
        erased = await to_thread.run_sync(erase_user, erasing, command)
        return success(erasure_view(erased), "User erased")
