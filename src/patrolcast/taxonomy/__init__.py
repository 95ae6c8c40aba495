"""Offence taxonomy: publishers' offence labels -> a small set of offence groups and harm weights.

The mapping lives in a CSV data file users can edit (``offences.csv`` beside this module, or a
file of their own). Harm weights are on the scale of the ONS Crime Severity Score (ONS 2016);
the file header says which weights are published values and which are approximations.

References
----------
Office for National Statistics (2016). Research outputs: Developing a Crime Severity Score for
England and Wales using data on crimes recorded by the police. 29 November 2016.
Sherman, L., Neyroud, P. & Neyroud, E. (2016). The Cambridge Crime Harm Index: Measuring total
harm from crime based on sentencing guidelines. Policing 10(3), 171-183.
"""

from __future__ import annotations

from patrolcast.taxonomy._taxonomy import (
    GROUPS,
    SERIOUS_VIOLENCE,
    Offence,
    Taxonomy,
    default_taxonomy_path,
    load_taxonomy,
    normalise_label,
)

__all__ = [
    "GROUPS",
    "SERIOUS_VIOLENCE",
    "Offence",
    "Taxonomy",
    "default_taxonomy_path",
    "load_taxonomy",
    "normalise_label",
]
