"""Password hashing with argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2Hasher:
    def __init__(self) -> None:
        self.argon2 = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)

    def hash(self, password: str) -> str:
        return self.argon2.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.argon2.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
