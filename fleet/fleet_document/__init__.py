"""The fleet description document: import (all or nothing), export and its JSON Schema."""

from fleet.fleet_document.errors import DocumentError, FleetImportError
from fleet.fleet_document.export import export_fleet
from fleet.fleet_document.schema import FORMAT, FleetDocument
from fleet.fleet_document.validate import ValidatedDocument, validate_document
from fleet.fleet_document.write import import_fleet, write_document

__all__ = [
    "FORMAT",
    "DocumentError",
    "FleetDocument",
    "FleetImportError",
    "ValidatedDocument",
    "export_fleet",
    "import_fleet",
    "validate_document",
    "write_document",
]
