"""Every action, declared once: name, method and path, who may call it, input, re-auth, use case.

The API builds one route per declaration (:mod:`patrolcast.api.server`); the CLI calls actions
by name through the API (:mod:`patrolcast.cli.client`). :func:`perform` is the one front door:
it checks the declared roles (deny by default, the refusal audited), consumes a fresh
re-authentication where the action demands one, and runs the use case as the authenticated
principal. The services below still apply every rule of their own (state, rank, separation of
duties, borough, policy), so a declaration can only narrow who may try, never widen it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from patrolcast.app import admin_cases as adm
from patrolcast.app import briefing_cases as brf
from patrolcast.app import governance_cases as gov
from patrolcast.app import inputs as i
from patrolcast.app import oversight_cases as ovs
from patrolcast.app.context import AppContext, Principal
from patrolcast.errors import InputError, PermissionDenied, ReauthenticationRequired
from patrolcast.governance import audit
from patrolcast.governance.clock import as_utc
from patrolcast.governance.db import run_transaction
from patrolcast.governance.identity.sessions import consume_reauth
from patrolcast.governance.models import AuthSession
from patrolcast.governance.roles import Role

__all__ = ["ACTIONS", "ActionSpec", "action", "perform"]

R = Role
ANYONE: frozenset[Role] | None = None  # any signed-in person; the service decides


@dataclass(frozen=True)
class ActionSpec:
    """One action a person can take, as every adapter sees it."""

    name: str
    summary: str
    method: str
    path: str
    run: Callable[[AppContext, Principal, Any, Any], Any]
    input: type[BaseModel] | None = None
    target: str | None = None  # path parameter: "proposal_id", "username", "name"
    target_type: type = int
    roles: frozenset[Role] | None = ANYONE
    reauth: bool = False
    tag: str = "deployments"
    produces: str = "application/json"  # or a document's media type (the use case returns one)


def _roles(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


P = "/api/proposals/{proposal_id}"
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("propose", "Propose a deployment (and submit it unless draft)", "POST",
               "/api/proposals", gov.propose, i.ProposeInput),
    ActionSpec("submit", "Submit a draft (proposer)", "POST", f"{P}/submit", gov.submit,
               i.VersionInput, "proposal_id"),
    ActionSpec("assess", "Complete the community impact assessment (community lead)", "POST",
               f"{P}/assess", gov.assess, i.AssessInput, "proposal_id"),
    ActionSpec("consult", "Record a borough commander's response", "POST", f"{P}/consult",
               gov.consult, i.ConsultInput, "proposal_id"),
    ActionSpec("authorise", "Authorise (the profile's rank; never your own); re-auth first",
               "POST", f"{P}/authorise", gov.authorise, i.AuthoriseInput, "proposal_id",
               reauth=True),
    ActionSpec("refuse", "Refuse a consulted proposal", "POST", f"{P}/refuse", gov.refuse,
               i.RefuseInput, "proposal_id"),
    ActionSpec("extend", "Extend an authorisation (a new decision); re-auth first", "POST",
               f"{P}/extend", gov.extend, i.ExtendInput, "proposal_id", reauth=True),
    ActionSpec("cancel", "Cancel an authorised or active deployment", "POST", f"{P}/cancel",
               gov.cancel, i.CancelInput, "proposal_id"),
    ActionSpec("debrief", "Debrief and sign off an ended deployment", "POST", f"{P}/debrief",
               gov.debrief, i.DebriefInput, "proposal_id"),
    ActionSpec("review", "Independent review of a debriefed deployment", "POST", f"{P}/review",
               gov.review, i.ReviewInput, "proposal_id"),
    ActionSpec("list_proposals", "Proposals you may see, with their state now (audited read)",
               "GET", "/api/proposals", gov.list_proposals, i.ProposalListInput),
    ActionSpec("show_proposal", "One proposal with its consultations and decisions (audited)",
               "GET", P, gov.show_proposal, None, "proposal_id"),
    ActionSpec("proposal_briefing", "One-page PDF briefing pack of a proposal (audited read)",
               "GET", f"{P}/briefing", brf.proposal_briefing, None, "proposal_id",
               produces=brf.PDF),
    ActionSpec("user_add", "Add an account; returns its one-time enrolment code", "POST",
               "/api/users", adm.user_add, i.UserAddInput, roles=_roles(R.ADMINISTRATOR),
               tag="accounts"),
    ActionSpec("user_list", "Accounts and their roles", "GET", "/api/users", adm.user_list,
               roles=_roles(R.ADMINISTRATOR, R.OVERSIGHT_AUDITOR), tag="accounts"),
    ActionSpec("user_enrol", "Re-issue an account's enrolment code (resets password and TOTP)",
               "POST", "/api/users/{username}/enrolment", adm.user_enrol, None, "username", str,
               roles=_roles(R.ADMINISTRATOR), reauth=True, tag="accounts"),
    ActionSpec("user_grant", "Grant a role; re-auth first", "POST", "/api/users/{username}/roles",
               adm.user_grant, i.RoleInput, "username", str, roles=_roles(R.ADMINISTRATOR),
               reauth=True, tag="accounts"),
    ActionSpec("user_revoke", "Remove a role; re-auth first", "POST",
               "/api/users/{username}/roles/remove", adm.user_revoke, i.RoleInput, "username",
               str, roles=_roles(R.ADMINISTRATOR), reauth=True, tag="accounts"),
    ActionSpec("profile_list", "Policy profiles (shipped and installed versions)", "GET",
               "/api/profiles", adm.profile_list, tag="policy"),
    ActionSpec("profile_show", "A policy profile's newest version", "GET",
               "/api/profiles/{name}", adm.profile_show, None, "name", str, tag="policy"),
    ActionSpec("profile_install", "Install a new policy profile version; re-auth first",
               "POST", "/api/profiles", adm.profile_install, i.ProfileInstallInput,
               roles=_roles(R.ADMINISTRATOR), reauth=True, tag="policy"),
    ActionSpec("snapshot_record", "Record a forecast snapshot proposals can rely on", "POST",
               "/api/snapshots", adm.snapshot_record, i.SnapshotInput,
               roles=_roles(R.ANALYST, R.INTELLIGENCE_OFFICER), tag="forecasts"),
    ActionSpec("audit_export", "Export the audit log with a signed checkpoint", "POST",
               "/api/audit/export", adm.audit_export,
               roles=_roles(R.OVERSIGHT_AUDITOR, R.ADMINISTRATOR), tag="audit"),
    ActionSpec("deployment_outcome",
               "An ended deployment against its forecast and matched controls; displacement",
               "POST", f"{P}/outcome", ovs.deployment_outcome, i.OutcomeInput, "proposal_id",
               roles=_roles(R.OVERSIGHT_AUDITOR, R.AUTHORISING_OFFICER,
                            R.STRATEGIC_FIREARMS_COMMANDER), tag="outcomes"),
    ActionSpec("intel_add", "Record a graded intelligence item (places and times only)", "POST",
               "/api/intel", ovs.intel_add, i.IntelAddInput,
               roles=_roles(R.INTELLIGENCE_OFFICER), tag="intelligence"),
    ActionSpec("intel_list", "Retained intelligence items (audited read)", "GET", "/api/intel",
               ovs.intel_list, i.IntelListInput, tag="intelligence"),
    ActionSpec("intel_purge", "Purge items past their retention date", "POST",
               "/api/intel/purge", ovs.intel_purge,
               roles=_roles(R.INTELLIGENCE_OFFICER, R.ADMINISTRATOR), tag="intelligence"),
)

_BY_NAME = {a.name: a for a in ACTIONS}


def action(name: str) -> ActionSpec:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise InputError(f"unknown action {name!r}") from None


def _deny(ctx: AppContext, who: Principal, spec: ActionSpec, target: Any, rule: str,
          reason: str) -> None:
    with ctx.db.session() as s:
        run_transaction(
            s,
            lambda: audit.append(
                s,
                actor=who.username,
                action=spec.name,
                target_type=spec.target or "-",
                target_id=str(target) if target is not None else "-",
                outcome="denied",
                detail={"rule": rule, "reason": reason},
                now=as_utc(ctx.clock.now()),
            ),
        )


def _take_reauth(ctx: AppContext, who: Principal) -> bool:
    with ctx.db.session() as s:

        def work() -> bool:
            row = s.get(AuthSession, who.session_id)
            return row is not None and consume_reauth(row, ctx.clock.now())

        return run_transaction(s, work)


def perform(
    ctx: AppContext, who: Principal, name: str, target: Any = None, body: Any = None
) -> Any:
    """Run the action ``name`` as ``who``: roles, re-authentication, then the use case."""
    spec = action(name)
    if spec.roles is not None and not (who.actor.roles & spec.roles):
        needed = " or ".join(sorted(r.value for r in spec.roles))
        reason = f"{spec.name} needs the role {needed}"
        _deny(ctx, who, spec, target, "role", reason)
        raise PermissionDenied(f"refused: {reason}")
    if spec.reauth and not _take_reauth(ctx, who):
        _deny(ctx, who, spec, target, "reauth-required",
              "no re-authentication in the last 5 minutes")
        raise ReauthenticationRequired(
            f"{spec.name} needs your password (and one-time code) again first: "
            "re-authenticate, then repeat the action within 5 minutes"
        )
    if spec.input is not None and body is None:
        body = spec.input()
    return spec.run(ctx, who, target, body)
