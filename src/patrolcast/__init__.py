"""patrolcast: accountable, place-based decision support for short targeted patrols.

Place-based only: nothing in this package holds a list of people.
"""

__version__ = "0.1.0"
