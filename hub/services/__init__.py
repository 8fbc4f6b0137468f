"""Use cases the entry points (HTTP API, adapters, CLI) call."""
