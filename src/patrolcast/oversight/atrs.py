"""The algorithm described under the UK Algorithmic Transparency Recording Standard (ATRS).

Section names follow the ATRS template (Central Digital and Data Office and Centre for Data
Ethics and Innovation, *Algorithmic Transparency Recording Standard*, version 3.0, 2023): Tier 1
(a short public summary) and Tier 2 (owner and responsibility; description and rationale;
decision-making process; tool specification; data specification; risks, mitigations and impact
assessments). The content states what patrolcast does and does not do; the fields that depend on
the deploying force (contact, owner) come from its configuration.
"""

from __future__ import annotations

from typing import Any

__all__ = ["algorithm_record"]


def algorithm_record(
    *,
    organisation: str = "(deploying police force: set in configuration)",
    contact: str = "(public contact address: set in configuration)",
    forecast_method: str = "retrospective kernel density of reported serious violence",
    training_data: str = (
        "police-recorded serious violence (victim-reported, injury-based offences); "
        "offences found mainly by patrols (possession of weapons, drugs) are not used for "
        "training"
    ),
    grading_weights: dict[str, Any] | None = None,
    fairness_factor: float = 2.0,
) -> dict[str, dict[str, str]]:
    """The ATRS record as ``{section: {field: text}}``, filled from the settings in force."""
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
            "Organisation": organisation,
            "Contact": contact,
        },
        "Tier 2.1: Owner and responsibility": {
            "Organisation and team": organisation,
            "Senior responsible owner": "the force's authorising officers' chain of command",
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
