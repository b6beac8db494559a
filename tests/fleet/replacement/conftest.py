"""The replacement service tests run against the web test world and its app."""

from tests.web.conftest import app, client, world  # noqa: F401  (fixtures)
