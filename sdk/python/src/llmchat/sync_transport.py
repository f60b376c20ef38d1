"""Sends `ApiCall`s over an `httpx.Client`: bearer token, one refresh on 401, typed errors."""

from __future__ import annotations

import threading
from typing import Any, TypeVar

import httpx

from llmchat import routes
from llmchat.api_call import ApiCall
from llmchat.credentials import Credentials
from llmchat.errors import UnauthorizedError, connection_error, error_from_response
from llmchat.transport_base import ServerUrls, StreamPolicy, TransportBase

ResultT = TypeVar("ResultT")


class SyncTransport(TransportBase):
    def __init__(
        self,
        http: httpx.Client,
        urls: ServerUrls,
        credentials: Credentials,
        stream_policy: StreamPolicy,
    ) -> None:
        super().__init__(urls, credentials, stream_policy)
        self.http = http
        self._refreshing = threading.Lock()

    def call(self, call: ApiCall[ResultT]) -> ResultT:
        return call.decode(self.open(call, stream=False))

    def open(self, call: ApiCall[Any], stream: bool = True) -> httpx.Response:
        """The answer to `call`, checked: an error answer is raised as an `LLMChatError`.

        With `stream`, the body is not read yet; the caller must close the response.
        """
        token_sent = self.credentials.token
        response = self._send(call, stream)
        if (
            response.status_code == 401
            and call.authenticated
            and self.credentials.can_refresh_after(token_sent)
        ):
            response.close()
            self._refresh_after(token_sent)
            response = self._send(call, stream)
        if response.is_error:
            response.read()
            response.close()
            raise error_from_response(response)
        return response

    def _send(self, call: ApiCall[Any], stream: bool) -> httpx.Response:
        try:
            return self.http.send(self.build(self.http, call), stream=stream)
        except httpx.TransportError as error:
            raise connection_error(error) from error

    def _refresh_after(self, token_sent: str | None) -> None:
        """Refresh the tokens, unless another thread already replaced `token_sent`.

        Refresh tokens rotate and the server revokes a whole sign-in when a rotated one is
        used again, so two threads must never refresh with the same one.
        """
        with self._refreshing:
            refresh_token = self.credentials.refresh_token
            if self.credentials.token != token_sent or refresh_token is None:
                return
            try:
                pair = self.call(routes.refresh(refresh_token))
            except UnauthorizedError:
                self.credentials.refresh_token = None  # revoked or expired: do not try again
                raise
            self.credentials.store(pair)
