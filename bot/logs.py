"""Log lines as JSON (LOG_FORMAT=json): one object per line, for a log collector.

Fields: time (UTC, ISO 8601), level, logger, message, and exc_info / stack_info (the
formatted traceback, as one string) when present. What goes into messages is the callers'
business: ids, counts and settings, never what customers wrote or who they are
(tests/test_logging.py); `describe` and `unreadable` put errors that quote Telegram's data
(aiogram's decode errors, pydantic's validation errors) into words without it.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

from aiogram.exceptions import ClientDecodeError
from pydantic import ValidationError


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


def unreadable(exc: ValidationError) -> str:
    """Pydantic quotes the input (customers' names and words): name the fields only."""
    fields = sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
    return f"{exc.title} for {', '.join(fields)}"


def describe(exc: Exception) -> str:
    """An error for the log. aiogram's decode error quotes the whole answer it could not
    read (a getUpdates batch: every sender's name and words): say which fields instead."""
    if isinstance(exc, ClientDecodeError):
        original = exc.original
        why = (
            unreadable(original)
            if isinstance(original, ValidationError)
            else type(original).__name__
        )
        return f"ClientDecodeError: {exc.message}: {why}"
    return f"{type(exc).__name__}: {exc}"
