"""The algorithm described under the UK Algorithmic Transparency Recording Standard (ATRS).

Section names follow the ATRS template (Central Digital and Data Office and Centre for Data
Ethics and Innovation, *Algorithmic Transparency Recording Standard*, version 3.0, 2023): Tier 1
(a short public summary) and Tier 2 (owner and responsibility; description and rationale;
decision-making process; tool specification; data specification; risks, mitigations and impact
assessments). The content states what patrolcast does and does not do; the fields that depend on
the deploying force (name, team, contact, senior responsible owner, website) come from the
``[organisation]`` table of the settings file (:class:`patrolcast.config.Organisation`). Where
it is not set the fields say so, and :func:`organisation_warning` gives the line a report
shows in plain sight.
"""

from __future__ import annotations

from typing import Any

from patrolcast.config import Organisation

__all__ = ["algorithm_record", "configured_organisation", "organisation_warning"]


def configured_organisation(organisation: Organisation | None = None) -> Organisation:
    """``organisation``, or the one of the settings in force (``load_settings()``)."""
    if organisation is not None:
        return organisation
    from patrolcast.config import load_settings

    return load_settings().organisation


def organisation_warning(organisation: Organisation) -> str | None:
    """The warning a public report carries while the deploying force is not configured."""
    if organisation.configured:
        return None
    return (
        "The deploying organisation is not configured: the Algorithmic Transparency Recording "
        "Standard fields below name no force, team or contact. Set the [organisation] table "
        "of the settings file (name, team, contact, senior_responsible_owner, website) before "
        "publishing this report."
    )


def algorithm_record(
    *,
    organisation: Organisation | None = None,
    forecast_method: str = "retrospective kernel density of reported serious violence",
    training_data: str = (
        "police-recorded serious violence (victim-reported, injury-based offences); "
        "offences found mainly by patrols (possession of weapons, drugs) are not used for "
        "training"
    ),
    grading_weights: dict[str, Any] | None = None,
    fairness_factor: float = 2.0,
) -> dict[str, dict[str, str]]:
    """The ATRS record as ``{section: {field: text}}``, filled from ``organisation`` (default:
    the ``[organisation]`` settings in force) and the grading weights."""
    org = configured_organisation(organisation)
    team = f"{org.name}, {org.team}" if org.team else org.name
    owner = org.senior_responsible_owner or (
        "(not set: [organisation] senior_responsible_owner in the settings file)"
    )
    tier1 = {"Organisation": org.name, "Contact": org.contact}
    if org.website:
        tier1["Website"] = org.website
    weights = grading_weights or {}
    weight_text = (
        ", ".join(
            f"source {k} x{v:g}" for k, v in sorted(weights.get("source", {}).items())
        )
        + "; "
        + ", ".join(
            f"assessment {k} x{v:g}" for k, v in sorted(weights.get("assessment", {}).items())
        )
        if weights
        else "see grading.toml"
    )
    return {
        "Tier 1: Summary": {
            "Name": "patrolcast: place-based decision support for short targeted patrols",
            "Description": (
                "Forecasts where serious violence is most likely in small areas (grid cells, "
                "LSOAs) over the coming days, shows graded intelligence beside the forecast, and "
                "records every proposal, authorisation, refusal, extension and debrief of a "
                "short, targeted patrol. It never holds lists of people."
            ),
            **tier1,
        },
        "Tier 2.1: Owner and responsibility": {
            "Organisation and team": team,
            "Senior responsible owner": owner,
            "Supplier": "in-house open-source software (patrolcast)",
        },
        "Tier 2.2: Description and rationale": {
            "Scope": (
                "Where and when a short patrol might reduce serious violence; not who. "
                "The tool informs a human decision, it does not make it."
            ),
            "Benefit": (
                "Hot spots policing shows small but significant reductions in crime without "
                "displacement on average (Braga et al. 2019); the tool makes the evidence, the "
                "decision and its burden on each community visible."
            ),
            "Alternatives considered": (
                "Officer judgement alone; person-based risk lists (rejected: see the ICO's 2018 "
                "findings on the Gangs Violence Matrix)."
            ),
        },
        "Tier 2.3: Decision-making process": {
            "Process integration": (
                "A proposal needs a trigger (a serious assault or graded intelligence), a "
                "community impact assessment, consultation with every borough commander the area "
                "touches, and an authorisation by someone other than the proposer, of the rank "
                "the policy profile demands, for a limited time."
            ),
            "Human decision": (
                "A named authorising officer decides and records reasons under the six headings "
                "of the National Decision Model. No deployment is made by the machine."
            ),
            "Appeals and review": (
                "Every action is in a tamper-evident audit log; debrief and review are mandatory; "
                "this monthly report is published."
            ),
        },
        "Tier 2.4: Tool specification": {
            "Model": forecast_method,
            "Evaluation": (
                "Rolling-origin backtests with hit rate, PAI and PEI* at 1-20% of the area, "
                "with bootstrap intervals, compared against naive baselines."
            ),
            "Intelligence": (
                "Graded 3x5x2 items add a separate, documented uplift shown beside the forecast, "
                f"never merged into it (weights: {weight_text})."
            ),
            "Phase": "pilot / decision support",
        },
        "Tier 2.5: Data specification": {
            "Source data": training_data,
            "Personal data": (
                "None in forecasts. Intelligence free text is checked for personal data and "
                "refused; items expire and are purged automatically, the purge audited. "
                "Stop-and-search ethnicity is used only in aggregate disproportionality checks."
            ),
            "Data sharing": (
                "published tables are aggregated monthly by borough; counts of 1 or 2 are "
                "suppressed, and every table, and all the tables of a report together, are "
                "checked by integer programming so that no suppressed count can be worked out "
                "from the rest; medians are published only for 10 or more deployments"
            ),
            "Verification": (
                "the audit log's exports are signed (Ed25519); the public key is published "
                "with each transparency report"
            ),
        },
        "Tier 2.6: Risks, mitigations and impact assessments": {
            "Feedback loops": (
                "Training on crimes that patrols themselves discover can run away (Ensign et al. "
                "2018); the tool trains on reported violence and monitors each area's share of "
                "patrol exposure against its share of harm, flagging areas above "
                f"{fairness_factor:g} times."
            ),
            "Disproportion": (
                "Stop-and-search volume and ethnic disproportionality are computed for each "
                "proposed area and shown in its community impact assessment."
            ),
            "Impact assessments": (
                "A data protection impact assessment and an equality impact assessment must "
                "exist before operational use (Equality Act 2010 s149)."
            ),
        },
    }
