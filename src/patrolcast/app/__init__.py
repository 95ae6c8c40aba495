"""Use cases: the one place that composes the layers below for a person's action.

Each action is declared once in :mod:`patrolcast.app.actions` (name, HTTP method and path, who
may call it, its input model, whether it needs a fresh re-authentication, and the use case it
runs). The API's routes are built from those declarations and the CLI calls them by name, so
the CLI, the API and the web page cannot disagree about who may do what. The acting person is
always the authenticated :class:`~patrolcast.app.context.Principal`, never a typed name.
"""
