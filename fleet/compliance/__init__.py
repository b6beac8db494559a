"""Compliance: audit-log verification, the alert review workflow, expense cross-checks and
inspector export bundles that can be verified (hash manifest)."""
