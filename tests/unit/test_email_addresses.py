"""E-mail addresses that look alike are one account, and a password's limits are named
(issue 13, items 12 and 15)."""

import unicodedata
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.errors import Conflict, ValidationFailed
from application.ports import PendingEvent
from application.register_user import RegisterUser, register_user
from application.sign_in import SignIn, sign_in
from domain.user import (
    EMAIL_NAMESPACE,
    EmailClaimed,
    UserRegistered,
    email_claim_id,
    normalise_email,
)
from tests.unit.fakes import in_memory_accounts

PASSWORD = "long-enough-1"


# --- e-mail addresses ----------------------------------------------------------------------


def fullwidth(ascii_letters: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) for c in ascii_letters)


def register(accounts, email, password=PASSWORD):
    return register_user(accounts, RegisterUser(email, password, "Someone"))


@pytest.mark.parametrize(
    "look_alike",
    [
        unicodedata.normalize("NFD", "josé@example.com"),  # e + combining acute
        f"{fullwidth('JOS')}É@{fullwidth('example')}.com",
        "JOSÉ@EXAMPLE.COM",
    ],
)
def test_look_alike_addresses_are_one_account(look_alike):
    accounts = in_memory_accounts()
    user = register(accounts, unicodedata.normalize("NFC", "josé@example.com"))
    with pytest.raises(Conflict):
        register(accounts, look_alike)
    signed_in = sign_in(accounts, SignIn(look_alike, PASSWORD, "10.0.0.1", "pytest"))
    assert signed_in.user.id == user.id


@pytest.mark.parametrize(
    "invisible",
    ["\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u200e", "\x07", "\x00"],
)
def test_addresses_with_format_or_control_characters_are_refused(invisible):
    with pytest.raises(ValidationFailed, match="Invalid email") as refused:
        register(in_memory_accounts(), f"jo{invisible}se@example.com")
    assert refused.value.details == f"email: must not contain U+{ord(invisible):04X}"


@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E)))
def test_an_ascii_address_normalises_as_it_always_did(email):
    # The claims (uuid5 of the normalised address) of every ASCII account stay where they are.
    assert normalise_email(email) == email.strip().lower()
    expected = str(uuid.uuid5(EMAIL_NAMESPACE, email.strip().lower()))
    assert email_claim_id(email) == expected


def test_an_account_claimed_under_the_old_lower_case_spelling_still_signs_in():
    """`ß`.lower() is `ß`, its case folding `ss`: an account registered when addresses were
    only lower-cased keeps its claim under the old spelling, and that spelling stays taken."""
    accounts = in_memory_accounts()
    user_id = str(uuid.uuid4())
    old = "straße@example.com"
    registered = UserRegistered(
        user_id=user_id,
        email=old,
        name="Old",
        role="user",
        password_hash=accounts.hasher.hash(PASSWORD),
    )
    old_claim = str(uuid.uuid5(EMAIL_NAMESPACE, old))
    accounts.store.append(
        [
            PendingEvent(user_id, 1, registered),
            PendingEvent(old_claim, 1, EmailClaimed(email=old, user_id=user_id)),
        ]
    )
    assert old_claim != email_claim_id(old)
    assert sign_in(accounts, SignIn(old, PASSWORD, "10.0.0.1", "t")).user.id == user_id
    with pytest.raises(Conflict):
        register(accounts, "STRAßE@example.com")


# --- passwords -----------------------------------------------------------------------------


def test_a_password_too_long_is_called_too_long_and_the_limits_hold():
    accounts = in_memory_accounts()
    with pytest.raises(ValidationFailed) as refused:
        register(accounts, "long@example.com", "x" * 1025)
    assert refused.value.message == "Password too long"
    assert refused.value.details == "password: must be 8 to 1024 characters"
    with pytest.raises(ValidationFailed) as refused:
        register(accounts, "short@example.com", "x" * 7)
    assert refused.value.message == "Password too short"
    register(accounts, "longest@example.com", "x" * 1024)
    register(accounts, "shortest@example.com", "x" * 8)
