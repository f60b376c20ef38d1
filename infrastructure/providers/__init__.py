"""Adapters for the ``ChatProvider`` port, one per provider wire format.

They all share the pooled keep-alive clients of ``http.new_http_client`` and normalise
every answer to ``Chunk``/``Completion``.
``custom`` is any OpenAI-compatible server; ``demo`` needs no network at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import httpx2

from application.provider import ChatProvider
from infrastructure.providers.anthropic import AnthropicProvider
from infrastructure.providers.demo import DemoProvider
from infrastructure.providers.dify import DifyProvider
from infrastructure.providers.fastgpt import FastGPTProvider
from infrastructure.providers.http import (
    ProviderClients,
    ProviderHttp,
    ProviderTimeouts,
    new_http_client,
)
from infrastructure.providers.openai import OpenAIProvider

__all__ = ["ProviderTimeouts", "build_providers", "new_http_client"]


def build_providers(
    client: httpx2.AsyncClient | ProviderClients, settings: ProviderTimeouts
) -> Mapping[str, ChatProvider]:
    def http(provider: str) -> ProviderHttp:
        return ProviderHttp(client, settings, provider)

    providers: dict[str, ChatProvider] = {
        "openai": OpenAIProvider(http("openai")),
        "custom": OpenAIProvider(http("custom")),
        "anthropic": AnthropicProvider(http("anthropic")),
        "fastgpt": FastGPTProvider(http("fastgpt")),
        "dify": DifyProvider(http("dify")),
        "demo": DemoProvider(),
    }
    return MappingProxyType(providers)
