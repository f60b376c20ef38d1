"""A user account and the claim on its e-mail address that keeps addresses unique."""

import uuid
from dataclasses import dataclass

from domain.events import stored_as

ROLES = ("user", "enterprise", "admin")

# A fixed namespace: the claim's stream id is derived from the address, so two
# registrations of one address collide on the same stream and the store refuses one.
EMAIL_NAMESPACE = uuid.UUID("5b0f3c1e-9a51-4c0e-8d8e-6f1d2f6c9a10")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_claim_id(email: str) -> str:
    return str(uuid.uuid5(EMAIL_NAMESPACE, normalise_email(email)))


@stored_as("UserRegistered")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserRegistered:
    user_id: str
    email: str
    name: str
    role: str
    password_hash: str


@stored_as("UserRoleChanged")
@dataclass(frozen=True, slots=True, kw_only=True)
class UserRoleChanged:
    user_id: str
    role: str


@stored_as("EmailClaimed")
@dataclass(frozen=True, slots=True, kw_only=True)
class EmailClaimed:
    email: str
    user_id: str


UserEvent = UserRegistered | UserRoleChanged


@dataclass(slots=True)
class User:
    id: str
    email: str
    name: str
    role: str
    password_hash: str
    created_at: str
    version: int

    @classmethod
    def register(
        cls, user_id: str, email: str, name: str, role: str, password_hash: str
    ) -> UserRegistered:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return UserRegistered(
            user_id=user_id,
            email=normalise_email(email),
            name=name.strip(),
            role=role,
            password_hash=password_hash,
        )

    @classmethod
    def replay(cls, history: list[tuple[object, str]]) -> "User":
        """Rebuild from (event, timestamp) pairs, oldest first."""
        first, created_at = history[0]
        if not isinstance(first, UserRegistered):
            raise ValueError("a user's history starts with UserRegistered")
        user = cls(
            id=first.user_id,
            email=first.email,
            name=first.name,
            role=first.role,
            password_hash=first.password_hash,
            created_at=created_at,
            version=1,
        )
        for event, _ in history[1:]:
            user.apply(event)
        return user

    def apply(self, event: object) -> None:
        if isinstance(event, UserRoleChanged):
            self.role = event.role
        self.version += 1

    def change_role(self, role: str) -> UserRoleChanged | None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return None if role == self.role else UserRoleChanged(user_id=self.id, role=role)
