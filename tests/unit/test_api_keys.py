"""API keys as use cases: created once, listed without secrets, revoked for good."""

import pytest

from application.api_keys import ApiKeys
from application.authenticate_api_key import AuthenticateApiKey, authenticate_api_key
from application.create_api_key import CreateApiKey, create_api_key
from application.errors import NotFound, Unauthorized, ValidationFailed
from application.list_api_keys import list_api_keys
from application.revoke_api_key import RevokeApiKey, revoke_api_key
from domain.api_key import ApiKeyUsed, format_key, parse_key
from tests.unit.fakes import in_memory_store


def keys():
    return ApiKeys(in_memory_store())


def use(api_keys, secret):
    return authenticate_api_key(api_keys, AuthenticateApiKey(secret, "10.0.0.1", "pytest"))


def test_a_key_authenticates_as_its_own_service_account_until_revoked():
    api_keys = keys()
    issued = create_api_key(api_keys, CreateApiKey("ci", "enterprise", ("metrics",), "admin-1"))
    claims = use(api_keys, issued.secret)
    assert (claims.user_id, claims.role, claims.scopes) == (
        issued.key.id,
        "enterprise",
        ("metrics",),
    )
    revoke_api_key(api_keys, RevokeApiKey(issued.key.id, "admin-1"))
    with pytest.raises(Unauthorized, match="revoked"):
        use(api_keys, issued.secret)


def test_a_wrong_secret_or_a_foreign_stream_is_not_a_key():
    api_keys = keys()
    issued = create_api_key(api_keys, CreateApiKey("ci", "user", (), "admin-1"))
    with pytest.raises(Unauthorized):
        use(api_keys, format_key(issued.key.id, "guessed"))
    with pytest.raises(Unauthorized):
        use(api_keys, "llmk_not-a-key")
    with pytest.raises(NotFound):
        revoke_api_key(api_keys, RevokeApiKey("not-a-uuid", "admin-1"))


def test_only_a_hash_is_stored_and_use_is_audited_once_a_minute():
    api_keys = keys()
    issued = create_api_key(api_keys, CreateApiKey("ci", "user", (), "admin-1"))
    for _ in range(5):
        use(api_keys, issued.secret)
    events = [r.event for r in api_keys.store.read_all(0, 100)]
    parsed = parse_key(issued.secret)
    assert parsed is not None
    secret = parsed[1]
    assert all(secret not in repr(event) for event in events)
    assert sum(isinstance(event, ApiKeyUsed) for event in events) == 1


def test_listing_pages_newest_first():
    api_keys = keys()
    for name in ("a", "b", "c"):
        create_api_key(api_keys, CreateApiKey(name, "user", (), "admin-1"))
    page = list_api_keys(api_keys, 1, 2)
    assert [k.name for k in page.keys] == ["c", "b"] and page.total == 3


@pytest.mark.parametrize(
    ("name", "role", "scopes"), [("", "user", ()), ("x", "root", ()), ("x", "user", ("all",))]
)
def test_invalid_keys_are_refused(name, role, scopes):
    with pytest.raises(ValidationFailed):
        create_api_key(keys(), CreateApiKey(name, role, scopes, "admin-1"))
