"""Which page of a listing: what every paginated query accepts."""

from application.errors import ValidationFailed

# Far past any listing, and its offset (page x limit) still fits PostgreSQL's bigint.
MAX_PAGE = 1_000_000_000
MAX_LIMIT = 100


def check_page(page: int, limit: int, max_limit: int = MAX_LIMIT) -> None:
    if not 1 <= page <= MAX_PAGE:
        raise ValidationFailed(f"page: must be between 1 and {MAX_PAGE}")
    if not 1 <= limit <= max_limit:
        raise ValidationFailed(f"limit: must be between 1 and {max_limit}")
