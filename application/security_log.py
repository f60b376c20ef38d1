"""Refusals as security events (AccessDenied, CommandRefused, RateLimited): the use case the
allow-lists, the rate limiter and the error envelope record them through.

Best effort: the refusal stands whether or not its audit entry could be stored, so a failed
append is logged, never raised into the answer.
"""

import logging
from dataclasses import dataclass

from application.accounts import record
from application.ports import EventStore
from domain.rate_limit import RateLimited
from domain.security import AccessDenied, CommandRefused

log = logging.getLogger("llmchat.audit")

Refusal = AccessDenied | CommandRefused | RateLimited


@dataclass(frozen=True, slots=True)
class SecurityLog:
    store: EventStore

    def record_refusal(self, event: Refusal) -> None:
        try:
            record(self.store, event)
        except Exception as error:  # the refusal stands; its audit entry is best effort
            log.warning(
                "%s not recorded: %s: %s", type(event).__name__, type(error).__name__, error
            )
