"""Oversight: graded intelligence, community impact assessment, fairness and feedback monitoring,
and public transparency reporting.

Modules
-------
pii             free-text check against obvious personal-data patterns (a clear refusal)
grading         the 3x5x2 intelligence grading and its documented uplift weights
uplift          the intelligence uplift per unit, shown beside the data-driven forecast
disproportion   stop-and-search volume and ethnic disproportionality against residents
fairness        deployment exposure against harm per area, with flags
feedback        the Ensign et al. (2018) feedback-loop (urn) simulation
cia             community impact assessment fields and computed evidence
transparency    the monthly public transparency report (HTML, CSV, GeoJSON)
"""
