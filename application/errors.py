"""What can go wrong in a use case, each mapped once by the API to an HTTP status and code."""


class ApplicationError(Exception):
    kind: str | None = None
    """The envelope's `error.type` when it is not the one its status has."""

    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else message

    def shown(self) -> object:
        """The envelope's `error.details`."""
        return self.details


class ValidationFailed(ApplicationError):
    pass


class Unauthorized(ApplicationError):
    pass


class Forbidden(ApplicationError):
    pass


class NotFound(ApplicationError):
    pass


class Conflict(ApplicationError):
    pass


class RateLimited(ApplicationError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExceeded(RateLimited):
    """A chat that its caller's budget cannot pay for until the period resets.

    Its details say which budget refused it and when it resets, for a client to show.
    """

    kind = "BudgetExceeded"

    def __init__(self, message: str, retry_after: int, facts: dict[str, object]) -> None:
        super().__init__(message, retry_after)
        self.facts = facts

    def shown(self) -> object:
        return self.facts


class ServiceUnavailable(ApplicationError):
    pass


class BadGateway(ApplicationError):
    """An upstream (a provider) answered with something unusable."""


class StreamConflict(Exception):
    """Another writer appended to one of these streams first (optimistic concurrency)."""
