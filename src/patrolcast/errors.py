"""Errors a user can act on. The CLI and API print their message as one clear line."""


class PatrolcastError(Exception):
    """Base class for errors caused by input or state a user can correct."""


class InputError(PatrolcastError):
    """Bad input: a file, a column, a value or an option that cannot be used."""


class PermissionDenied(PatrolcastError):
    """The acting user may not do this (the attempt is audited)."""


class ConflictError(PatrolcastError):
    """The record changed under us (e.g. two authorisers racing): reload and retry."""
