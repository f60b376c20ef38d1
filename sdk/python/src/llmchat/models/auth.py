from llmchat.models.base import Model


class User(Model):
    id: str
    email: str
    name: str | None = None
    role: str | None = None
    created_at: str | None = None


class Registered(Model):
    user: User


class TokenPair(Model):
    """What login and refresh answer: an access token, its refresh token, and who it is."""

    token: str
    refresh_token: str
    expires_in: int
    user: User
