"""Refusals the pages can say in their own language.

A refusal has the shape of a validation error (``detail`` is a list of ``{type, loc, msg,
ctx}``): ``type`` is a stable code the pages map to their labels (``web/static/js/i18n.js``,
keys ``err.<code>``), ``loc`` names the field, ``msg`` says the rule in English for API
clients, and ``ctx`` holds the figures the sentence needs (plates, readings in km, times in
ISO 8601)."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException


def problem(field: str, code: str, message: str, **params: Any) -> dict[str, Any]:
    """One refused field (a body field name): the rule's ``code``, the English ``message``
    and the figures (``params``) a translated sentence fills in."""
    return {"type": code, "loc": ["body", field], "msg": message, "ctx": params}


def refused(status_code: int, *problems: dict[str, Any]) -> HTTPException:
    """An HTTP error listing every refused field (see :func:`problem`)."""
    return HTTPException(status_code, detail=list(problems))


def refusal(status_code: int, field: str, code: str, message: str, **params: Any) -> HTTPException:
    """An HTTP error refusing one field by the rule ``code`` (see :func:`problem`)."""
    return refused(status_code, problem(field, code, message, **params))
