"""Shared pieces of the eAccounting connectors: the spec, and the API client used by tap and target."""
