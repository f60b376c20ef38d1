"""What can go wrong in a use case, each mapped once by the API to an HTTP status and code."""


class ApplicationError(Exception):
    def __init__(self, message: str, details: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else message


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


class ServiceUnavailable(ApplicationError):
    pass


class BadGateway(ApplicationError):
    """An upstream (a provider) answered with something unusable."""


class StreamConflict(Exception):
    """Another writer appended to one of these streams first (optimistic concurrency)."""
