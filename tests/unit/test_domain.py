from hypothesis import given
from hypothesis import strategies as st

from domain.token_family import RefreshReuseDetected, SignedIn, TokenFamily, TokenRefreshed
from domain.user import User, UserRoleChanged, email_claim_id

jtis = st.text(alphabet="abcdef0123456789", min_size=1, max_size=6)


def started(jti="r0"):
    return SignedIn(
        family_id="f", user_id="u", refresh_jti=jti, access_jti="a0", ip="", user_agent=""
    )


@given(st.lists(jtis, max_size=20))
def test_a_family_rebuilt_from_its_events_equals_the_one_that_made_them(presented):
    family = TokenFamily.replay([started()])
    history: list[object] = [started()]
    for n, jti in enumerate(presented):
        live = family.live_refresh_jti
        decision = family.refresh(jti if n % 2 else live, f"r{n + 1}", f"a{n + 1}", "", "")
        if decision is None:
            break
        family.apply(decision)
        history.append(decision)
    assert TokenFamily.replay(history) == family


def test_only_the_live_refresh_token_rotates_and_an_old_one_is_reuse():
    family = TokenFamily.replay([started("r0")])
    rotated = family.refresh("r0", "r1", "a1", "", "")
    assert isinstance(rotated, TokenRefreshed)
    family.apply(rotated)
    assert isinstance(family.refresh("r0", "r2", "a2", "", ""), RefreshReuseDetected)


def test_email_claims_collide_for_one_address_in_any_case():
    assert email_claim_id("A@B.io ") == email_claim_id("a@b.io")
    assert email_claim_id("a@b.io") != email_claim_id("c@b.io")


def test_role_changes_only_when_it_differs():
    user = User.replay([(User.register("u", "a@b.io", "A", "user", "h"), "t")])
    assert user.change_role("user") is None
    change = user.change_role("admin")
    assert isinstance(change, UserRoleChanged)
    user.apply(change)
    assert (user.role, user.version) == ("admin", 2)
