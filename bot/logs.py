"""Log lines as JSON (LOG_FORMAT=json): one object per line, for a log collector.

Fields: time (UTC, ISO 8601), level, logger, message, and exc_info / stack_info (the
formatted traceback, as one string) when present. What goes into messages is the callers'
business: ids, counts and settings, never what customers wrote or who they are
(tests/test_logging.py).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = self.formatException(record.exc_info)
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)
