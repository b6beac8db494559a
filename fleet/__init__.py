"""Shared core of the official-vehicle fleet platform.

Settings, database, domain models, organisation scope, calendar, geo helpers, audit log and
the ``fleet`` command line. This package imports none of ``dispatch``, ``telematics``,
``web`` or ``simulations``.
"""

__version__ = "0.1.0"
