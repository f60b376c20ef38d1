"""Administrators change users' roles and statuses: the events, and what a deactivation ends."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from unittest import mock

import pytest

from application.accounts import load_user
from application.api_keys import ApiKeys, load_key
from application.authenticate_api_key import AuthenticateApiKey, authenticate_api_key
from application.change_user import ChangeUser, change_user
from application.create_api_key import CreateApiKey, create_api_key
from application.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from application.refresh_tokens import RefreshTokens, refresh_tokens
from application.repository import Repository
from domain.api_key import ApiKeyUsed
from domain.security import SignInFailed
from domain.user import User, UserDeactivated, UserReactivated, UserRoleChanged
from tests.unit.fakes import in_memory_accounts
from tests.unit.test_auth_use_cases import all_events, authenticate, registered, signed_in

ADMIN_ID = "00000000-0000-4000-8000-00000000000a"


class ReadModelAdmins:
    """The users read model's administrators, as a projection that has caught up says."""

    def __init__(self, accounts):
        self.accounts = accounts

    def active_admins(self):
        users = {r.stream_id for r in self.accounts.store.read_all(0, 10_000)}
        found = [load_user(self.accounts.store, u) for u in users]
        return [u.id for u in found if u is not None and u.administers]


def change(accounts, user_id, role=None, status=None, admins=None):
    command = ChangeUser(user_id, role, status, ADMIN_ID)
    return change_user(accounts, admins or ReadModelAdmins(accounts), command)


def refresh(accounts, pair):
    return refresh_tokens(accounts, RefreshTokens(pair.refresh_token, "10.0.0.1", "pytest"))


def test_each_change_is_one_past_tense_event_naming_the_administrator():
    user = User.register("11111111-1111-4111-8111-111111111111", "a@b.co", "A", "user", "h")
    user.collect()
    assert user.change_role("enterprise", ADMIN_ID) == UserRoleChanged(
        user_id=user.id, role="enterprise", by=ADMIN_ID
    )
    assert user.change_role("enterprise", ADMIN_ID) is None
    assert user.change_status("deactivated", ADMIN_ID) == UserDeactivated(
        user_id=user.id, by=ADMIN_ID
    )
    assert user.change_status("deactivated", ADMIN_ID) is None
    assert user.change_status("active", ADMIN_ID) == UserReactivated(user_id=user.id, by=ADMIN_ID)
    assert [p.version for p in user.collect()] == [2, 3, 4]
    with pytest.raises(ValueError, match="role"):
        user.change_role("root", ADMIN_ID)
    with pytest.raises(ValueError, match="status"):
        user.change_status("gone", ADMIN_ID)


def test_an_unknown_user_or_value_is_refused_before_any_event():
    accounts = in_memory_accounts()
    user = registered(accounts)
    with pytest.raises(NotFound):
        change(accounts, "22222222-2222-4222-8222-222222222222", role="admin")
    with pytest.raises(NotFound):
        change(accounts, "not-a-uuid", role="admin")
    before = all_events(accounts)
    with pytest.raises(ValidationFailed):
        change(accounts, user.id, role="superuser")
    with pytest.raises(ValidationFailed):
        change(accounts, user.id, role="admin", status="paused")
    assert all_events(accounts) == before


def test_deactivation_ends_access_and_refresh_tokens_and_refuses_sign_in_clearly():
    accounts = in_memory_accounts()
    user = registered(accounts)
    pair = signed_in(accounts)
    assert authenticate(accounts, pair.token).user_id == user.id
    changed = change(accounts, user.id, status="deactivated")
    assert changed.status == "deactivated"
    with pytest.raises(Unauthorized):
        authenticate(accounts, pair.token)
    with pytest.raises(Unauthorized):
        refresh(accounts, pair)
    with pytest.raises(Forbidden, match="deactivated"):
        signed_in(accounts)
    refused = [e for e in all_events(accounts) if isinstance(e, SignInFailed)]
    assert [e.reason for e in refused] == ["deactivated"]


def test_reactivation_allows_sign_in_again_but_the_ended_sign_ins_stay_ended():
    accounts = in_memory_accounts()
    user = registered(accounts)
    old = signed_in(accounts)
    time.sleep(1.05)  # tokens carry whole seconds: the deactivation comes in a later one
    accounts.clock.moment = datetime.now(UTC)  # type: ignore[attr-defined]
    change(accounts, user.id, status="deactivated")
    change(accounts, user.id, status="active")
    new = signed_in(accounts)
    assert authenticate(accounts, new.token).user_id == user.id
    assert refresh(accounts, new).user.id == user.id
    with pytest.raises(Unauthorized):
        authenticate(accounts, old.token)
    with pytest.raises(Unauthorized):
        refresh(accounts, old)


def test_deactivation_revokes_the_api_keys_the_user_created_in_the_same_append():
    accounts = in_memory_accounts()
    keys = ApiKeys(accounts.store)
    creator, other = registered(accounts), registered(accounts, "other@example.com")
    theirs = create_api_key(keys, CreateApiKey("theirs", "user", (), creator.id))
    others = create_api_key(keys, CreateApiKey("others", "user", (), other.id))
    use = AuthenticateApiKey(theirs.secret, "10.0.0.1", "pytest")
    assert authenticate_api_key(keys, use).user_id == theirs.key.id
    head = accounts.store.read_all(0, 10_000)[-1].position
    change(accounts, creator.id, status="deactivated")
    with pytest.raises(Unauthorized, match="revoked"):
        authenticate_api_key(keys, use)
    assert authenticate_api_key(keys, AuthenticateApiKey(others.secret, "", ""))
    appended = [
        r for r in accounts.store.read_all(head, 100) if not isinstance(r.event, ApiKeyUsed)
    ]
    assert [type(r.event).__name__ for r in appended] == ["UserDeactivated", "ApiKeyRevoked"]
    assert appended[1].position == appended[0].position + 1  # one append
    assert load_key(accounts.store, others.key.id).revoked_at is None  # type: ignore[union-attr]


def test_a_demoted_admin_signs_in_again_to_get_a_token_of_the_new_role():
    accounts = in_memory_accounts()
    user, keeper = registered(accounts), registered(accounts, "keeper@example.com")
    change(accounts, keeper.id, role="admin")
    change(accounts, user.id, role="admin")
    time.sleep(1.05)
    admin = signed_in(accounts)
    assert authenticate(accounts, admin.token).role == "admin"
    time.sleep(1.05)
    accounts.clock.moment = datetime.now(UTC)  # type: ignore[attr-defined]
    change(accounts, user.id, role="user")
    with pytest.raises(Unauthorized):
        authenticate(accounts, admin.token)
    again = signed_in(accounts)
    assert authenticate(accounts, again.token).role == "user"
    assert load_user(accounts.store, user.id).role == "user"  # type: ignore[union-attr]


def test_the_only_administrator_can_be_neither_demoted_nor_deactivated():
    accounts = in_memory_accounts()
    first, second = registered(accounts), registered(accounts, "second@example.com")
    change(accounts, first.id, role="admin")
    for refused in ({"role": "user"}, {"status": "deactivated"}):
        with pytest.raises(Conflict, match="only administrator"):
            change(accounts, first.id, **refused)
    change(accounts, second.id, role="admin")
    change(accounts, first.id, status="deactivated")
    with pytest.raises(Conflict):
        change(accounts, second.id, role="enterprise")
    # A read model that still shows the deactivated one does not make it count.
    stale = ReadModelAdmins(accounts)
    stale.active_admins = lambda: [first.id, second.id]  # type: ignore[method-assign]
    with pytest.raises(Conflict):
        change(accounts, second.id, role="enterprise", admins=stale)


def test_two_admins_demoting_each_other_at_once_leave_one():
    accounts = in_memory_accounts()
    first, second = registered(accounts), registered(accounts, "second@example.com")
    change(accounts, first.id, role="admin")
    change(accounts, second.id, role="admin")
    both = ReadModelAdmins(accounts).active_admins()
    stale = ReadModelAdmins(accounts)
    stale.active_admins = lambda: both  # type: ignore[method-assign]
    barrier = threading.Barrier(2)
    real_head = Repository.head

    heads = iter(range(1_000))

    def head_in_step(self, stream_id):
        head = real_head(self, stream_id)
        if next(heads) < 2:  # the first run of each waits for the other's: both decided
            barrier.wait(timeout=5)
        return head

    def demote(user_id):
        try:
            return change(accounts, user_id, role="user", admins=stale).role
        except Conflict:
            return "refused"

    with mock.patch.object(Repository, "head", head_in_step), ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(demote, [first.id, second.id]))
    assert outcomes == ["refused", "user"]
    assert len(ReadModelAdmins(accounts).active_admins()) == 1
