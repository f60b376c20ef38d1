"""JSON log lines (LLMCHAT_LOG_FORMAT=json): one object a line, for log shippers."""

import json
import logging
from datetime import UTC, datetime

# Attributes every LogRecord has; anything else was passed as `extra=` and is kept.
STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in STANDARD}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def use_json_logs() -> None:
    """Switch the handlers already configured (by the CLI) to JSON lines."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonLines())
