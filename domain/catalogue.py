"""Every module that defines stored events: importing this makes all of them known to replay."""

from domain import security, token_family, user

EVENT_MODULES = (security, token_family, user)
