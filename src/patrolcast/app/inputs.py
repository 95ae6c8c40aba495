"""Input models of the actions (pydantic): what a client may send, strictly.

Times are ISO 8601 text; a time without an offset is Europe/London wall-clock time (a time in
the spring-forward gap is refused, one in the autumn fold needs an offset), the one rule of
:mod:`patrolcast.app.times` that the CLI states too; they are stored in UTC. Unknown fields are
refused, texts are length-limited, numbers must be finite. Borough codes are GSS codes (the CLI
turns names into codes with :mod:`patrolcast.app.places`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AreaInput",
    "AssessInput",
    "AuthoriseInput",
    "CancelInput",
    "ConsultInput",
    "DebriefInput",
    "ExtendInput",
    "IntelAddInput",
    "IntelListInput",
    "LoginInput",
    "NDMInput",
    "OutcomeInput",
    "ProfileInstallInput",
    "ProposalListInput",
    "ProposeInput",
    "ReauthInput",
    "RefuseInput",
    "ReviewInput",
    "RoleInput",
    "SnapshotInput",
    "TokenInput",
    "TriggerInput",
    "UserAddInput",
    "VersionInput",
]

Text = Annotated[str, Field(max_length=4000)]
ShortText = Annotated[str, Field(max_length=200)]
Time = Annotated[
    str, Field(max_length=40, description="ISO 8601; no offset = Europe/London; stored in UTC")
]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionInput(_Strict):
    expected_version: int | None = Field(None, ge=1, le=1_000_000, description="Refuse if moved on")


class NDMInput(_Strict):
    """The National Decision Model's six headings (all mandatory)."""

    code_of_ethics: Text
    information_and_intelligence: Text
    threat_risk_and_strategy: Text
    powers_and_policy: Text
    options_and_contingencies: Text
    action_and_review: Text


class TriggerInput(_Strict):
    kind: Literal["incident", "intelligence"]
    offence: ShortText | None = None
    occurred_at: Time | None = None
    place: Text | None = None
    intelligence_item_id: int | None = Field(None, ge=1, le=2**31 - 1)
    grade: Annotated[str, Field(max_length=8)] | None = None


class AreaInput(_Strict):
    """The patrol area: a polygon (WKT) or a box, in a projected CRS in metres."""

    wkt: Annotated[str, Field(max_length=100_000)] | None = None
    bbox: Annotated[list[Finite], Field(min_length=4, max_length=4)] | None = None
    crs: Annotated[str, Field(max_length=32)] = "EPSG:27700"
    boroughs: Annotated[list[Annotated[str, Field(max_length=16)]], Field(max_length=40)] = []


class ProposeInput(_Strict):
    trigger: TriggerInput
    area: AreaInput
    start: Time | None = None
    end: Time | None = None
    hours: Finite | None = Field(None, gt=0, le=10_000)
    ndm: NDMInput
    snapshot_id: int | None = Field(None, ge=1, le=2**31 - 1)
    profile: Annotated[str, Field(max_length=64)] = "armed-foot-patrol"
    draft: bool = False


class AssessInput(VersionInput):
    assessment: dict[str, Any] | None = None


class ConsultInput(VersionInput):
    borough: Annotated[str, Field(max_length=16)]
    position: Literal["support", "object"]
    reasons: Text


class AuthoriseInput(VersionInput):
    reasons: Text
    ndm: NDMInput
    start: Time | None = None
    end: Time | None = None
    hours: Finite | None = Field(None, gt=0, le=10_000)
    tactical_commander: Annotated[str, Field(max_length=64)] | None = None
    strategic_commander: Annotated[str, Field(max_length=64)] | None = None
    public_notice: Text | None = None
    objection_response: Text | None = None


class RefuseInput(VersionInput):
    reasons: Text


class ExtendInput(VersionInput):
    reasons: Text
    hours: Finite | None = Field(None, gt=0, le=10_000)
    until: Time | None = None
    ndm: NDMInput | None = None


class CancelInput(VersionInput):
    reasons: Text


class DebriefInput(VersionInput):
    summary: Text
    sign_off: Text


class ReviewInput(VersionInput):
    findings: Text


class ProposalListInput(_Strict):
    state: Literal[
        "draft", "submitted", "assessed", "consulted", "authorised", "active", "expired",
        "refused", "cancelled", "debriefed", "reviewed",
    ] | None = None


class UserAddInput(_Strict):
    username: Annotated[str, Field(max_length=32)]
    roles: Annotated[list[Annotated[str, Field(max_length=60)]], Field(min_length=1, max_length=10)]
    rank: Annotated[str, Field(max_length=40)] | None = None
    display_name: ShortText = ""


class RoleInput(_Strict):
    role: Annotated[str, Field(max_length=60)]


class ProfileInstallInput(_Strict):
    toml: Annotated[str, Field(max_length=65536)]


class SnapshotInput(_Strict):
    method: ShortText
    digest: Annotated[str, Field(max_length=80)]
    created_at: Time
    params: dict[str, Any] = {}
    uri: Annotated[str, Field(max_length=1000)] = ""


class IntelAddInput(_Strict):
    grading: Annotated[str, Field(max_length=16)]
    start: Time
    end: Time
    retain_until: Time
    owner: ShortText
    x: Finite | None = None
    y: Finite | None = None
    radius: Finite | None = Field(None, gt=0, le=100_000)
    cells: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=5000)] = []
    polygon: Annotated[str, Field(max_length=100_000)] | None = None
    summary: Text = ""


class IntelListInput(_Strict):
    active_at: Time | None = None


class LoginInput(_Strict):
    username: Annotated[str, Field(max_length=64)]
    password: Annotated[str, Field(max_length=256)]
    totp: Annotated[str, Field(max_length=12)] | None = None


class TokenInput(LoginInput):
    label: Annotated[str, Field(max_length=64)] = ""
    hours: Finite = Field(12.0, gt=0, le=24 * 30)


class ReauthInput(_Strict):
    password: Annotated[str, Field(max_length=256)]
    totp: Annotated[str, Field(max_length=12)] | None = None


class ActivateInput(_Strict):
    username: Annotated[str, Field(max_length=64)]
    code: Annotated[str, Field(max_length=100)]
    password: Annotated[str, Field(max_length=256)]


class OutcomeInput(_Strict):
    """Evaluate one ended deployment on an ingested dataset of timestamped events."""

    dataset: Annotated[str, Field(max_length=64)]
    groups: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=20)] = []
    measure: Literal["count", "harm"] = "count"
    buffer_m: Finite = Field(500.0, gt=0, le=5000)
    pre_days: Finite = Field(365.0, gt=0, le=3650)
    residual_days: Finite = Field(7.0, ge=0, le=365)

