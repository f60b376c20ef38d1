"""Every module that defines stored events: importing this makes all of them known to replay."""

from domain import (
    agent,
    api_key,
    conversation,
    file,
    rate_limit,
    reply_stream,
    security,
    token_family,
    user,
)

EVENT_MODULES = (
    agent,
    api_key,
    conversation,
    file,
    rate_limit,
    reply_stream,
    security,
    token_family,
    user,
)
