"""Policy pinned per proposal: installed versions, tampering in the database, no file swaps."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text

from patrolcast.errors import InputError, PermissionDenied
from patrolcast.governance import service
from patrolcast.governance.models import InstalledProfile, Proposal
from patrolcast.governance.policy_registry import install_profile, list_profiles, resolve_profile
from patrolcast.governance.profiles import shipped_profile_text
from patrolcast.governance.states import Refused, State
from patrolcast.governance.values import ConsultationDetails
from tests.governance.helpers import World, authorisation, walk_to


def _v2(max_hours: str = "5") -> str:
    body = shipped_profile_text("armed-foot-patrol")
    body = body.replace("version = 1", "version = 2", 1)
    return body.replace("max_hours = 8", f"max_hours = {max_hours}", 1)


def test_a_proposal_stores_name_version_and_sha_of_its_profile(world: World) -> None:
    pid = walk_to(world, State.SUBMITTED)
    with world.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        shipped = resolve_profile(s, "armed-foot-patrol")
        assert (p.profile, p.profile_version, p.profile_sha256) == (
            "armed-foot-patrol",
            1,
            shipped.sha256,
        )


def test_only_an_administrator_installs_and_the_attempt_is_audited(world: World) -> None:
    with world.session() as s:
        with pytest.raises(PermissionDenied):
            install_profile(s, actor="ana", clock=world.clock, text=_v2())
        assert [p.profile.version for p in list_profiles(s)
                if p.profile.name == "armed-foot-patrol"] == [1]
        last = s.execute(text("select action, outcome from audit_log order by seq desc")).first()
        assert tuple(last) == ("profile_install", "denied")


def test_a_new_version_applies_to_new_proposals_not_to_pinned_ones(world: World) -> None:
    pid = walk_to(world, State.CONSULTED)
    with world.session() as s:
        install_profile(s, actor="admin", clock=world.clock, text=_v2(max_hours="5"))
        assert resolve_profile(s, "armed-foot-patrol").version == 2
        # The pinned v1 allows 6 hours; v2 (at most 5) would refuse them.
        service.authorise(
            s, actor="acc1", clock=world.clock, proposal_id=pid,
            details=authorisation(world, hours=6),
        )
    new = walk_to(world, State.DRAFT, offset=5000)
    with world.session() as s:
        p = s.get(Proposal, new)
        assert p is not None and p.profile_version == 2


def test_an_installed_version_cannot_be_overwritten_or_go_backwards(world: World) -> None:
    with world.session() as s:
        install_profile(s, actor="admin", clock=world.clock, text=_v2())
        with pytest.raises(InputError, match="install a new version"):
            install_profile(s, actor="admin", clock=world.clock, text=_v2(max_hours="7"))


def test_a_profile_edited_in_the_database_refuses_every_later_step(world: World) -> None:
    with world.session() as s:
        install_profile(s, actor="admin", clock=world.clock, text=_v2(max_hours="8"))
    pid = walk_to(world, State.ASSESSED)
    with world.session() as s:
        row = s.execute(select(InstalledProfile)).scalar_one()
        # Insider edit: loosen the profile's text (and even recompute its stored digest).
        loose = row.content.replace("max_hours = 8", "max_hours = 70", 1)
        for content, digest in (
            (loose, row.sha256),
            (loose, hashlib.sha256(loose.encode()).hexdigest()),
        ):
            s.execute(
                text("update policy_profiles set content=:c, sha256=:h where id=:i"),
                {"c": content, "h": digest, "i": row.id},
            )
            s.commit()
            with pytest.raises(Refused) as caught:
                service.consult(
                    s, actor="bob1", clock=world.clock, proposal_id=pid,
                    details=ConsultationDetails("E09000001", "support", "Agreed."),
                )
            assert caught.value.rule in {"policy-tampered", "policy-changed"}
        p = s.get(Proposal, pid)
        assert p is not None and p.state == State.ASSESSED.value


def test_a_proposal_without_a_pin_is_refused(world: World) -> None:
    pid = walk_to(world, State.SUBMITTED)
    with world.session() as s:
        s.execute(text("update proposals set profile_sha256 = NULL where id = :i"), {"i": pid})
        s.commit()
        with pytest.raises(Refused, match="predates policy pinning"):
            service.assess(s, actor="cat", clock=world.clock, proposal_id=pid)


def test_a_snapshot_digest_must_be_a_full_sha256(world: World) -> None:
    from datetime import timedelta

    from patrolcast.governance.snapshots import record_snapshot

    with world.session() as s:
        for short in ("ab" * 8, "ab" * 31, "zz" * 32, "ab" * 33):
            with pytest.raises(InputError, match="64 hex"):
                record_snapshot(
                    s, method="kde", params={}, created_at=world.clock.now() - timedelta(hours=1),
                    digest=short, actor="ana", clock=world.clock,
                )


def test_a_proposal_may_use_an_installed_profile_of_a_new_name(world: World) -> None:
    text_ = shipped_profile_text("armed-foot-patrol").replace(
        'name = "armed-foot-patrol"', 'name = "knife-crime-week"', 1
    )
    with world.session() as s:
        install_profile(s, actor="admin", clock=world.clock, text=text_)
    pid = walk_to(world, State.SUBMITTED, profile="knife-crime-week")
    with world.session() as s:
        p = s.get(Proposal, pid)
        assert p is not None and (p.profile, p.profile_version) == ("knife-crime-week", 1)
