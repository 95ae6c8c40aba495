"""The REST API: thin routes over :mod:`patrolcast.app` (no rules of its own)."""
