"""Structured logging: one line per event, text for people or JSON for collectors.

Tracebacks are rendered plain, without local variables (rendering the locals of a web
request's frames once took 26 s and 8.6 MB for one bad request), and every event passes
``redact_secrets`` last: passwords, password hashes, tokens, cookies and keys never reach a
log line, whether as a field or inside a message or traceback.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import structlog

#: Event fields whose value is replaced whole (compared lower-case, ``-`` read as ``_``).
SECRET_KEYS = frozenset({
    "password", "password_hash", "new_password", "old_password", "token", "access_token",
    "refresh_token", "secret", "secret_key", "signing_key", "metrics_token", "authorization",
    "cookie", "set_cookie", "api_key",
})
REDACTED = "[redacted]"
_SECRET_PATTERNS = [
    # argon2 / bcrypt / other modular-crypt password hashes
    (re.compile(r"\$(?:argon2(?:id|i|d)|2[aby]|pbkdf2[\w-]*|scrypt)\$[\w$=,+/.-]+"), REDACTED),
    # JSON Web Tokens (header.payload.signature, base64url)
    (re.compile(r"\beyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]*"), REDACTED),
    # Authorization headers
    (re.compile(r"(?i)\b(bearer|basic)\s+[\w.~+/=-]+"), rf"\1 {REDACTED}"),
    # cookies and query or form fields carrying secrets: name=value
    (re.compile(r"(?i)\b(fleet_session|session|token|access_token|password|secret|api_key)=[^\s&;'\",]+"),
     rf"\1={REDACTED}"),
    # the same as JSON or repr fields: "password": "..."
    (re.compile(r"(?i)([\"'](?:password|password_hash|token|access_token|secret|secret_key|authorization|cookie)"
                r"[\"']\s*[:,]\s*[\"'])[^\"']*"), rf"\1{REDACTED}"),
]
_MAX_DEPTH = 4


def _scrub_text(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _scrub(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return _scrub_text(value)
    if isinstance(value, bytes):
        return _scrub_text(value.decode("utf-8", "replace"))
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dict) and depth < _MAX_DEPTH:
        return {k: REDACTED if _is_secret_key(k) else _scrub(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple) and depth < _MAX_DEPTH:
        return [_scrub(v, depth + 1) for v in value]
    return _scrub_text(str(value))


def _is_secret_key(key: object) -> bool:
    return isinstance(key, str) and key.lower().replace("-", "_") in SECRET_KEYS


def redact_secrets(_: Any, __: str, event_dict: structlog.types.EventDict) -> structlog.types.EventDict:
    """A structlog processor: blank fields named like secrets and scrub secrets (password
    hashes, JWTs, bearer credentials, session cookies, ``token=`` and ``password=`` values)
    out of every other text in the event, tracebacks included."""
    return {key: REDACTED if _is_secret_key(key) else _scrub(value) for key, value in event_dict.items()}


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    """Route stdlib and structlog records through one structlog renderer: plain tracebacks
    (no local variables), secrets redacted, then text or JSON."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json
        else structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ])
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for chatty in ("amqtt", "transitions", "alembic.runtime.migration"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
