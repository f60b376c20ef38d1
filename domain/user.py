"""A user account and the claim on its e-mail address that keeps addresses unique."""

import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from domain.aggregate import Aggregate, Stream
from domain.events import stored_as

ROLES = ("user", "enterprise", "admin")
ACTIVE, DEACTIVATED = "active", "deactivated"
STATUSES = (ACTIVE, DEACTIVATED)
BOOTSTRAP = "bootstrap"
SELF = "self"
OPERATOR = "operator"

# The stream every change that takes an administrator away appends to: two such changes at
# once collide on it, so the last administrator cannot be taken away by two at once.
ADMINISTRATORS_ID = "0c4f6a1e-2b7d-4e9a-9f3c-5d8e7a6b1c20"

# A fixed namespace: the claim's stream id is derived from the address, so two
# registrations of one address collide on the same stream and the store refuses one.
EMAIL_NAMESPACE = uuid.UUID("5b0f3c1e-9a51-4c0e-8d8e-6f1d2f6c9a10")


def normalise_email(email: str) -> str:
    """One spelling per address as people read it: compatibility forms folded (fullwidth
    letters, NFD accents), case folded. An address already in lower-case ASCII is itself,
    so the claims of accounts registered before this normalisation are unchanged."""
    folded = unicodedata.normalize("NFKC", email.strip()).casefold()
    # Case folding can leave text that is no longer NFKC (e.g. U+0345), so normalise again.
    return unicodedata.normalize("NFKC", folded)


def legacy_email(email: str) -> str:
    """How addresses were normalised before `normalise_email` (lower case only): the claims
    of non-ASCII addresses registered then are under this spelling."""
    return email.strip().lower()


def invisible_in_email(email: str) -> str | None:
    """The first control or format character in an address (zero-width joiners, bidi
    marks...), which make different addresses look alike; None if there is none."""
    return next((c for c in email if unicodedata.category(c) in ("Cc", "Cf")), None)


def email_claim_id(email: str) -> str:
    return str(uuid.uuid5(EMAIL_NAMESPACE, normalise_email(email)))


def made_by_bootstrap(registered: "UserRegistered") -> bool:
    # Before `registered_by` existed only the bootstrap registered administrators:
    # registration always made users.
    if registered.registered_by:
        return registered.registered_by == BOOTSTRAP
    return registered.role == "admin"


def legacy_email_claim_id(email: str) -> str | None:
    """The claim an address had before `normalise_email`, if that differs from its own."""
    legacy = legacy_email(email)
    if legacy == normalise_email(email):
        return None
    return str(uuid.uuid5(EMAIL_NAMESPACE, legacy))


@stored_as("UserRegistered")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserRegistered:
    user_id: str
    email: str
    name: str
    role: str
    password_hash: str
    # Who made the account: BOOTSTRAP (LLMCHAT_ADMIN_EMAIL at start, with the operator's
    # password) or SELF (registration). Empty in events written before the field was.
    registered_by: str = ""


@stored_as("UserRoleChanged")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserRoleChanged:
    user_id: str
    role: str
    # OPERATOR when an operator appointed the administrator by hand (`llmchat admin promote`),
    # the administrator's user id when one changed it (PATCH /api/admin/users/{userId}).
    by: str = ""


@stored_as("UserDeactivated")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserDeactivated:
    """Every sign-in and API key of the user ended; no sign-in until reactivated."""

    user_id: str
    by: str


@stored_as("UserReactivated")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserReactivated:
    """The user may sign in again; the sign-ins the deactivation ended stay ended."""

    user_id: str
    by: str


@stored_as("UserErased")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserErased:
    """The account is closed for good and its personal content erased: every data key the
    user owned was destroyed with this event (their conversations, files' descriptions,
    e-mail and name can no longer be read), their files' bytes deleted. `by` is who asked:
    an administrator's id, or the user's own."""

    user_id: str
    by: str


class AlreadyErased(Exception):
    pass


@stored_as("AdministratorLeft")
@dataclass(frozen=True, slots=True, kw_only=True)
class AdministratorLeft:
    """An administrator was demoted or deactivated (audited through the user's event)."""

    user_id: str


@stored_as("EmailClaimed")
@dataclass(frozen=True, slots=True, kw_only=True)
class EmailClaimed:
    email: str
    user_id: str


UserEvent = UserRegistered | UserRoleChanged | UserDeactivated | UserReactivated | UserErased


@dataclass(slots=True, kw_only=True)
class User(Aggregate):
    starts_with: ClassVar[type[Any]] = UserRegistered

    email: str
    name: str
    role: str
    password_hash: str
    created_at: str
    # The operator vouches for this account as administrator: the bootstrap made it (with
    # the operator's password), or the operator appointed it by hand.
    operator_appointed: bool = False
    status: str = ACTIVE
    # When the latest deactivation, and the latest change of role away from admin, ended
    # the user's sign-ins (their events' times), if ever: tokens issued before stay refused.
    deactivated_at: str | None = None
    demoted_at: str | None = None
    # Erased (UserErased): closed for good, its personal content unreadable.
    erased: bool = False

    @classmethod
    def register(
        cls,
        user_id: str,
        email: str,
        name: str,
        role: str,
        password_hash: str,
        registered_by: str = SELF,
    ) -> "User":
        """A new account, its registration pending."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        if registered_by not in (SELF, BOOTSTRAP):
            raise ValueError(f"unknown registrar {registered_by!r}")
        registered = UserRegistered(
            user_id=user_id,
            email=normalise_email(email),
            name=name.strip(),
            role=role,
            password_hash=password_hash,
            registered_by=registered_by,
        )
        return cls.begin(registered)

    @classmethod
    def started(cls, first: UserRegistered, timestamp: str) -> "User":
        return cls.from_first(
            first,
            id=first.user_id,
            created_at=timestamp,
            operator_appointed=made_by_bootstrap(first),
        )

    def apply(self, event: object, timestamp: str) -> None:
        if isinstance(event, UserRoleChanged):
            if self.role == "admin" and event.role != "admin":
                self.demoted_at = timestamp
            self.role = event.role
            if event.by == OPERATOR and event.role == "admin":
                self.operator_appointed = True
        elif isinstance(event, UserDeactivated):
            self.status = DEACTIVATED
            self.deactivated_at = timestamp
        elif isinstance(event, UserReactivated):
            self.status = ACTIVE
        elif isinstance(event, UserErased):
            self.status, self.erased = DEACTIVATED, True
            self.deactivated_at = timestamp

    @property
    def deactivated(self) -> bool:
        return self.status == DEACTIVATED

    @property
    def administers(self) -> bool:
        return self.role == "admin" and not self.deactivated

    def claim_email(self) -> Stream:
        """The claim on the account's address, as the first event of the claim's stream:
        a second account with the address collides with it on the claim's id."""
        claim = Stream.at(email_claim_id(self.email), 0)
        claim.trigger(EmailClaimed(email=self.email, user_id=self.id))
        return claim

    def change_role(self, role: str, by: str = "") -> UserRoleChanged | None:
        if role not in ROLES:
            raise ValueError(f"role: must be one of {', '.join(ROLES)}")
        if role == self.role:
            return None
        return self.trigger(UserRoleChanged(user_id=self.id, role=role, by=by))

    def change_status(self, status: str, by: str) -> UserDeactivated | UserReactivated | None:
        """Deactivate or reactivate (None: it already is so)."""
        if status not in STATUSES:
            raise ValueError(f"status: must be one of {', '.join(STATUSES)}")
        if self.erased:
            raise ValueError("status: the account was erased; it stays closed")
        if status == self.status:
            return None
        if status == DEACTIVATED:
            return self.trigger(UserDeactivated(user_id=self.id, by=by))
        return self.trigger(UserReactivated(user_id=self.id, by=by))

    def erase(self, by: str) -> UserErased:
        """Close the account for good; its data keys go with the event (see UserErased)."""
        if self.erased:
            raise AlreadyErased(self.id)
        return self.trigger(UserErased(user_id=self.id, by=by))

    def appoint_admin(self) -> UserRoleChanged | None:
        """The operator's explicit choice of this account as administrator (None: made)."""
        if self.operator_appointed and self.role == "admin":
            return None
        return self.trigger(UserRoleChanged(user_id=self.id, role="admin", by=OPERATOR))
