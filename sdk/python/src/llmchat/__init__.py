"""The Python client of the LLMChat API.

from llmchat import LLMChatClient
client = LLMChatClient(base_url="http://localhost:3001/api", token="...")
for chunk in client.chat.completions(agent_id="demo", messages=[...], stream=True):
    print(chunk.content)
"""

from llmchat.async_chat_stream import AsyncChatStream
from llmchat.async_client import AsyncLLMChatClient
from llmchat.chat_stream import ChatStream
from llmchat.client import LLMChatClient
from llmchat.errors import (
    APIConnectionError,
    APITimeoutError,
    BadGatewayError,
    ConflictError,
    ForbiddenError,
    InternalServerError,
    LLMChatError,
    MethodNotAllowedError,
    NotAcceptableError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ServiceUnavailableError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from llmchat.models import (
    Agent,
    ChatChunk,
    ChatMessage,
    Completion,
    FileInfo,
    Page,
    TokenPair,
    Usage,
)
from llmchat.uploads import FileInput
from llmchat.version import VERSION

__version__ = VERSION

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "Agent",
    "AsyncChatStream",
    "AsyncLLMChatClient",
    "BadGatewayError",
    "ChatChunk",
    "ChatMessage",
    "ChatStream",
    "Completion",
    "ConflictError",
    "FileInfo",
    "FileInput",
    "ForbiddenError",
    "InternalServerError",
    "LLMChatClient",
    "LLMChatError",
    "MethodNotAllowedError",
    "NotAcceptableError",
    "NotFoundError",
    "Page",
    "PayloadTooLargeError",
    "RateLimitedError",
    "ServiceUnavailableError",
    "TokenPair",
    "UnauthorizedError",
    "UnsupportedMediaTypeError",
    "Usage",
    "ValidationError",
    "__version__",
]
