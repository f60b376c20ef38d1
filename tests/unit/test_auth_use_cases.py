import asyncio
import dataclasses
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest

from application.accounts import load_user, new_id
from application.authenticate import authenticate as authenticate_now
from application.ensure_admin import AdminAddressTaken, ensure_admin
from application.errors import Conflict, RateLimited, Unauthorized, ValidationFailed
from application.ports import PendingEvent
from application.promote_admin import promote_admin
from application.refresh_tokens import RefreshTokens, refresh_tokens
from application.register_user import RegisterUser, register_user
from application.sign_in import ACCOUNT_FAILURES, ADDRESS_FAILURES, SignIn, sign_in
from application.sign_out import SignOut, sign_out
from domain.security import SignInFailed, SignInThrottled
from domain.token_family import RefreshReuseDetected, SignedIn, SignedOut, TokenRefreshed
from domain.user import EmailClaimed, UserRegistered, UserRoleChanged, email_claim_id
from tests.unit.fakes import (
    AwaitedRevocations,
    FixedClock,
    PlainHasher,
    in_memory_accounts,
    known_users,
)

PASSWORD = "long-enough-1"


def authenticate(accounts, token):
    revocations = AwaitedRevocations(accounts.revocations)
    users = known_users(accounts)
    return asyncio.run(authenticate_now(accounts.tokens, revocations, users, token))


def registered(accounts, email="Someone@Example.com"):
    return register_user(accounts, RegisterUser(email, PASSWORD, "Someone"))


def signed_in(accounts, email="someone@example.com"):
    return sign_in(accounts, SignIn(email, PASSWORD, "10.0.0.1", "pytest"))


def all_events(accounts):
    return [r.event for r in accounts.store.read_all(0, 10_000)]


def test_registration_normalises_the_email_and_keeps_it_unique_case_insensitively():
    accounts = in_memory_accounts()
    user = registered(accounts, "  Someone@Example.COM ")
    assert user.email == "someone@example.com"
    with pytest.raises(Conflict):
        registered(accounts, "SOMEONE@example.com")


@pytest.mark.parametrize(
    ("email", "password", "name"),
    [("not-an-email", PASSWORD, "A"), ("a@b.co", "short", "A"), ("a@b.co", PASSWORD, "  ")],
)
def test_registration_refuses_bad_input(email, password, name):
    with pytest.raises(ValidationFailed):
        register_user(in_memory_accounts(), RegisterUser(email, password, name))


def test_password_is_stored_hashed_never_plain():
    accounts = in_memory_accounts()
    user = registered(accounts)
    assert user.password_hash != PASSWORD
    assert accounts.hasher.verify(user.password_hash, PASSWORD)


def test_sign_in_records_an_event_and_issues_tokens_that_authenticate():
    accounts = in_memory_accounts()
    user = registered(accounts)
    pair = signed_in(accounts)
    assert authenticate(accounts, pair.token).user_id == user.id
    assert any(isinstance(e, SignedIn) for e in all_events(accounts))


def test_wrong_password_is_refused_and_recorded():
    accounts = in_memory_accounts()
    registered(accounts)
    with pytest.raises(Unauthorized):
        sign_in(accounts, SignIn("someone@example.com", "wrong-password", "10.0.0.1", "pytest"))
    failures = [e for e in all_events(accounts) if isinstance(e, SignInFailed)]
    assert [f.reason for f in failures] == ["wrong_password"]


def test_repeated_failures_for_one_account_are_refused_with_429_and_recorded():
    accounts = in_memory_accounts()
    registered(accounts)
    for _ in range(ACCOUNT_FAILURES):
        with pytest.raises(Unauthorized):
            sign_in(accounts, SignIn("someone@example.com", "wrong-password", "10.0.0.1", "t"))
    with pytest.raises(RateLimited) as refused:
        signed_in(accounts)  # even the right password waits out the window
    assert refused.value.retry_after > 0
    assert any(isinstance(e, SignInThrottled) for e in all_events(accounts))


class SlowHasher(PlainHasher):
    """Takes as long as a real hash, so concurrent sign-ins overlap in their checks."""

    def verify(self, password_hash, password):
        time.sleep(0.05)
        return super().verify(password_hash, password)


def concurrent_sign_ins(accounts, commands):
    def one(command):
        try:
            sign_in(accounts, command)
        except (Unauthorized, RateLimited) as error:
            return type(error)
        return None

    with ThreadPoolExecutor(len(commands)) as pool:
        return Counter(pool.map(one, commands))


def test_concurrent_guesses_are_reserved_before_the_check_and_never_pass_the_limits():
    accounts = dataclasses.replace(in_memory_accounts(), hasher=SlowHasher())
    registered(accounts)
    guess = SignIn("someone@example.com", "wrong-password", "10.0.0.1", "t")
    outcomes = concurrent_sign_ins(accounts, [guess] * 20)
    assert outcomes[Unauthorized] == ACCOUNT_FAILURES
    assert outcomes[RateLimited] == 20 - ACCOUNT_FAILURES

    spread = [SignIn(f"u{n}@example.com", "wrong-password", "10.0.0.2", "t") for n in range(60)]
    outcomes = concurrent_sign_ins(accounts, spread)
    assert outcomes[Unauthorized] == ADDRESS_FAILURES
    assert outcomes[RateLimited] == 60 - ADDRESS_FAILURES


def test_a_good_sign_in_wipes_the_accounts_failures_and_gives_the_address_its_attempt_back():
    accounts = in_memory_accounts()
    registered(accounts)
    for _ in range(ACCOUNT_FAILURES - 1):
        with pytest.raises(Unauthorized):
            sign_in(accounts, SignIn("someone@example.com", "wrong-password", "10.0.0.1", "t"))
    for _ in range(ADDRESS_FAILURES + 5):
        signed_in(accounts)
    for _ in range(ACCOUNT_FAILURES):
        with pytest.raises(Unauthorized):
            sign_in(accounts, SignIn("someone@example.com", "wrong-password", "10.0.0.1", "t"))


def test_refresh_rotates_and_reuse_of_the_old_token_revokes_the_family():
    accounts = in_memory_accounts()
    registered(accounts)
    first = signed_in(accounts)
    second = refresh_tokens(accounts, RefreshTokens(first.refresh_token, "ip", "ua"))
    assert second.refresh_token != first.refresh_token
    clock = accounts.clock
    assert isinstance(clock, FixedClock)
    clock.advance(accounts.refresh_grace + 1)  # past the grace window
    with pytest.raises(Unauthorized, match="reuse"):
        refresh_tokens(accounts, RefreshTokens(first.refresh_token, "ip", "ua"))
    # The whole family is gone: the newest refresh token and every access token.
    with pytest.raises(Unauthorized):
        refresh_tokens(accounts, RefreshTokens(second.refresh_token, "ip", "ua"))
    with pytest.raises(Unauthorized):
        authenticate(accounts, second.token)
    kinds = [type(e) for e in all_events(accounts)]
    assert TokenRefreshed in kinds and RefreshReuseDetected in kinds


def test_concurrent_refreshes_of_one_token_all_get_the_same_new_pair():
    accounts = in_memory_accounts()
    registered(accounts)
    first = signed_in(accounts)
    command = RefreshTokens(first.refresh_token, "ip", "ua")
    with ThreadPoolExecutor(8) as pool:
        pairs = list(pool.map(lambda _: refresh_tokens(accounts, command), range(8)))
    assert len({(p.token, p.refresh_token) for p in pairs}) == 1
    rotations = [e for e in all_events(accounts) if isinstance(e, TokenRefreshed)]
    assert len(rotations) == 1
    assert not any(isinstance(e, RefreshReuseDetected) for e in all_events(accounts))
    assert authenticate(accounts, pairs[0].token).user_id == first.user.id
    third = refresh_tokens(accounts, RefreshTokens(pairs[0].refresh_token, "ip", "ua"))
    # Once the new token has rotated, the first one is reuse even within the window.
    with pytest.raises(Unauthorized, match="reuse"):
        refresh_tokens(accounts, command)
    with pytest.raises(Unauthorized):
        authenticate(accounts, third.token)


def test_access_and_refresh_tokens_are_not_interchangeable():
    accounts = in_memory_accounts()
    registered(accounts)
    pair = signed_in(accounts)
    with pytest.raises(Unauthorized):
        refresh_tokens(accounts, RefreshTokens(pair.token, "ip", "ua"))
    with pytest.raises(Unauthorized):
        authenticate(accounts, pair.refresh_token)


def test_tokens_with_alg_none_or_another_key_are_refused():
    accounts = in_memory_accounts()
    registered(accounts)
    claims = jwt.decode(signed_in(accounts).token, options={"verify_signature": False})
    unsigned = jwt.encode(claims, key="", algorithm="none")
    resigned = jwt.encode(claims, "some-other-secret-" + "z" * 32, algorithm="HS256")
    for token in (unsigned, resigned):
        with pytest.raises(Unauthorized):
            authenticate(accounts, token)


def test_a_well_signed_token_for_an_account_that_does_not_exist_is_refused():
    accounts = in_memory_accounts()
    forged = accounts.tokens.issue_access(new_id(), "admin", new_id()).token
    with pytest.raises(Unauthorized, match="Unknown account"):
        authenticate(accounts, forged)


def test_sign_out_revokes_the_access_token_and_its_refresh_family():
    accounts = in_memory_accounts()
    registered(accounts)
    pair = signed_in(accounts)
    claims = authenticate(accounts, pair.token)
    sign_out(accounts, SignOut(claims, "ip", "ua"))
    with pytest.raises(Unauthorized):
        authenticate(accounts, pair.token)
    with pytest.raises(Unauthorized):
        refresh_tokens(accounts, RefreshTokens(pair.refresh_token, "ip", "ua"))
    assert any(isinstance(e, SignedOut) for e in all_events(accounts))


def test_ensure_admin_creates_the_admin_once_and_keeps_it_admin():
    accounts = in_memory_accounts()
    fresh = ensure_admin(accounts, "root@example.com", PASSWORD)
    assert fresh.role == "admin"
    again = ensure_admin(accounts, "ROOT@example.com", PASSWORD)
    assert (again.id, again.version) == (fresh.id, fresh.version)
    assert sign_in(accounts, SignIn("root@example.com", PASSWORD, "ip", "ua")).user.id == fresh.id


def test_ensure_admin_refuses_an_account_someone_else_registered_until_the_operator_promotes():
    accounts = in_memory_accounts()
    squatter = register_user(accounts, RegisterUser("boss@example.com", "their-own-1", "Boss"))
    with pytest.raises(AdminAddressTaken, match=r"LLMCHAT_ADMIN_EMAIL.*llmchat admin promote"):
        ensure_admin(accounts, "BOSS@example.com", PASSWORD)
    unchanged = load_user(accounts.store, squatter.id)
    assert unchanged is not None and unchanged.role == "user"

    promoted = promote_admin(accounts, "boss@example.com")
    assert promoted.role == "admin" and promote_admin(accounts, "boss@example.com").version == (
        promoted.version
    )
    assert ensure_admin(accounts, "boss@example.com", PASSWORD).id == squatter.id


def test_an_admin_made_by_the_bootstrap_before_registered_by_existed_is_still_recognised():
    accounts = in_memory_accounts()
    # Exactly what the bootstrap wrote before: an "admin" registration, no registrar.
    legacy = UserRegistered(
        user_id=new_id(),
        email="old@example.com",
        name="Administrator",
        role="admin",
        password_hash=accounts.hasher.hash(PASSWORD),
    )
    claim = EmailClaimed(email="old@example.com", user_id=legacy.user_id)
    accounts.store.append(
        [
            PendingEvent(legacy.user_id, 1, legacy),
            PendingEvent(email_claim_id("old@example.com"), 1, claim),
        ]
    )
    assert ensure_admin(accounts, "old@example.com", PASSWORD).id == legacy.user_id
    # ...while an account that bootstrap merely promoted (the flaw) is refused now.
    promoted = registered(accounts, "taken@example.com")
    change = UserRoleChanged(user_id=promoted.id, role="admin")
    accounts.store.append([PendingEvent(promoted.id, 2, change)])
    with pytest.raises(AdminAddressTaken):
        ensure_admin(accounts, "taken@example.com", PASSWORD)


def test_a_refresh_grace_of_zero_gives_none_even_within_the_same_second():
    accounts = dataclasses.replace(in_memory_accounts(), refresh_grace=0)
    registered(accounts)
    first = signed_in(accounts)
    refresh_tokens(accounts, RefreshTokens(first.refresh_token, "ip", "ua"))
    # The clock has not moved: the rotation is of this very second, and still no grace.
    with pytest.raises(Unauthorized, match="reuse"):
        refresh_tokens(accounts, RefreshTokens(first.refresh_token, "ip", "ua"))
