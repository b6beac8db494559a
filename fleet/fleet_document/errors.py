"""Errors of a fleet document, each with its JSON path in the document and the reason."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

#: A model rule names its field first, as in ``"lease_end: must not be before lease_start"``.
_FIELD_PREFIX = re.compile(r"^(?P<field>[a-z_]+): (?P<reason>.+)$", re.DOTALL)
_SHOWN_IN_MESSAGE = 20


@dataclass(frozen=True, order=True)
class DocumentError:
    """One problem: ``path`` like ``vehicles[12].plate`` and a sentence saying why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class FleetImportError(Exception):
    """The document was rejected; nothing was written. ``errors`` lists every problem;
    ``what`` names the kind of document (the fleet document, the orders document)."""

    def __init__(self, errors: Iterable[DocumentError], what: str = "fleet document") -> None:
        self.errors = list(errors)
        lines = [str(error) for error in self.errors[:_SHOWN_IN_MESSAGE]]
        if len(self.errors) > _SHOWN_IN_MESSAGE:
            lines.append(f"... and {len(self.errors) - _SHOWN_IN_MESSAGE} more")
        super().__init__(f"{len(self.errors)} error(s) in the {what}:\n" + "\n".join(lines))


def join_path(prefix: str, loc: Iterable[str | int]) -> str:
    """``join_path("vehicles[3]", ["tariffs", 0, "seats"])`` -> ``vehicles[3].tariffs[0].seats``."""
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def from_validation_error(
    prefix: str, exc: ValidationError, renamed: Mapping[str, str] | None = None
) -> list[DocumentError]:
    """Pydantic errors as document errors under ``prefix``.

    A model rule that names its field (``"lessor_id: ..."``) is reported at that field;
    ``renamed`` maps a model field to its document name (``lessor_id`` -> ``lessor``).
    """
    renamed = renamed or {}
    errors = []
    for detail in exc.errors(include_url=False):
        loc: list[Any] = [renamed.get(part, part) for part in detail["loc"]]
        reason = _reason(detail)
        named = _FIELD_PREFIX.match(reason)
        if named:
            field = renamed.get(named["field"], named["field"])
            if not loc or loc[-1] != field:
                loc.append(field)
            reason = named["reason"]
        errors.append(DocumentError(join_path(prefix, loc), reason))
    return errors


def _reason(detail: Mapping[str, Any]) -> str:
    if detail["type"] == "value_error" and "error" in detail.get("ctx", {}):
        return str(detail["ctx"]["error"])
    return str(detail["msg"])
