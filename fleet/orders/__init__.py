"""Past orders loaded offline: trip requests with their assignments from a JSON or YAML
document (``fleet orders import``), all or nothing, errors naming their path in the document."""

from fleet.orders.document import FORMAT, OrdersDocument
from fleet.orders.importer import import_orders, read_document

__all__ = ["FORMAT", "OrdersDocument", "import_orders", "read_document"]
