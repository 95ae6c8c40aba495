"""The web dashboard: pages, map data and assets over the same use cases as the API."""

from patrolcast.web.routes import mount_web

__all__ = ["mount_web"]
