"""Errors a user can act on. The CLI and API print their message as one clear line."""


class PatrolcastError(Exception):
    """Base class for errors caused by input or state a user can correct."""


class InputError(PatrolcastError):
    """Bad input: a file, a column, a value or an option that cannot be used."""


class PermissionDenied(PatrolcastError):
    """The acting user may not do this (the attempt is audited)."""


class ConflictError(PatrolcastError):
    """The record changed under us (e.g. two authorisers racing): reload and retry."""


class AuthenticationError(PatrolcastError):
    """The caller has not proved who they are (no, expired or revoked session or token, wrong
    password or code, locked account). The message never says which, to give nothing away."""


class ReauthenticationRequired(PatrolcastError):
    """This action needs the password and one-time code again, immediately before it."""
