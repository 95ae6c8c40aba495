from pathlib import Path

import pytest

from patrolcast.config import load_settings
from patrolcast.errors import InputError


def test_precedence_flag_over_env_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "patrolcast.toml"
    cfg.write_text(
        '[patrolcast]\ncell_size = 100\ncrs = "EPSG:32616"\nserver_url = "http://a"\n'
    )
    monkeypatch.setenv("PATROLCAST_CRS", "EPSG:32618")
    s = load_settings(cfg, server_url="http://b")
    assert s.cell_size == 100.0  # from the file
    assert s.crs == "EPSG:32618"  # environment beats the file
    assert s.server_url == "http://b"  # flag beats both


def test_no_setting_chooses_a_policy_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The review swapped the rules with PATROLCAST_POLICY_PROFILE=evil.toml: the variable is
    # ignored, and a config file naming a profile is refused as an unknown setting.
    monkeypatch.setenv("PATROLCAST_POLICY_PROFILE", str(tmp_path / "evil.toml"))
    assert not hasattr(load_settings(), "policy_profile")
    cfg = tmp_path / "patrolcast.toml"
    cfg.write_text('[patrolcast]\npolicy_profile = "evil"\n')
    with pytest.raises(InputError, match="unknown setting"):
        load_settings(cfg)


def test_defaults_and_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATROLCAST_CONFIG", raising=False)
    s = load_settings(home="/tmp/pc")
    assert s.store_dir == Path("/tmp/pc/store")
    assert s.effective_database_url == "sqlite:////tmp/pc/patrolcast.db"


@pytest.mark.parametrize("secret", [None, "", "changeme", "Password"])
def test_placeholder_secrets_refused(secret: str | None) -> None:
    s = load_settings(api_secret=secret)
    with pytest.raises(InputError):
        s.require_secret()


def test_real_secret_accepted() -> None:
    assert load_settings(api_secret="k3y-from-vault").require_secret() == "k3y-from-vault"


def test_bad_values_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cell_size"):
        load_settings(cell_size="-5")
    with pytest.raises(InputError, match="unknown setting"):
        load_settings(colour="blue")
    with pytest.raises(InputError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_organisation_block_fills_the_force_fields(tmp_path: Path) -> None:
    cfg = tmp_path / "patrolcast.toml"
    cfg.write_text(
        '[organisation]\nname = "Merseyside Police"\ncontact = "foi@example.police.uk"\n'
        'protective_marking = "OFFICIAL"\n',
        encoding="utf-8",
    )
    org = load_settings(cfg).organisation
    assert org.name == "Merseyside Police"
    assert org.contact == "foi@example.police.uk"
    assert org.protective_marking == "OFFICIAL"
    assert org.configured
    assert not load_settings().organisation.configured  # the default says it was not set


def test_organisation_block_refuses_unknown_keys_and_non_text(tmp_path: Path) -> None:
    cfg = tmp_path / "patrolcast.toml"
    cfg.write_text('[organisation]\nnmae = "typo"\n', encoding="utf-8")
    with pytest.raises(InputError, match="nmae"):
        load_settings(cfg)
    cfg.write_text("[organisation]\nname = 3\n", encoding="utf-8")
    with pytest.raises(InputError, match="must be text"):
        load_settings(cfg)
    cfg.write_text('[patrolcast]\norganisation = "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match="unknown setting"):
        load_settings(cfg)


def test_home_defaults_to_the_per_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from platformdirs import user_data_dir

    monkeypatch.delenv("PATROLCAST_HOME", raising=False)
    monkeypatch.delenv("PATROLCAST_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    monkeypatch.chdir(tmp_path)
    home = load_settings().home
    assert home == Path(user_data_dir("patrolcast", appauthor=False))
    assert home.is_absolute()  # never ./var of the folder a command is run from
    cfg = tmp_path / "patrolcast.toml"
    cfg.write_text('[patrolcast]\nhome = "~/pc-data"\n', encoding="utf-8")
    assert load_settings(cfg).home == Path.home() / "pc-data"
    monkeypatch.setenv("PATROLCAST_HOME", str(tmp_path / "env"))
    assert load_settings(cfg).home == tmp_path / "env"  # the environment beats the file


def test_a_missing_home_is_refused_by_name(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "nowhere")
    with pytest.raises(InputError, match="no data home at .*nowhere"):
        settings.require_home()
    assert not (tmp_path / "nowhere").exists()


def test_the_per_user_settings_file_is_read_when_present(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATROLCAST_CONFIG", raising=False)
    monkeypatch.delenv("PATROLCAST_HOME", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    before = load_settings().home  # no file yet: the default
    cfg = tmp_path / "config" / "patrolcast" / "settings.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(
        f'[patrolcast]\nhome = "{tmp_path / "h"}"\n[organisation]\nname = "Kent Police"\n'
    )
    s = load_settings()
    assert before != tmp_path / "h" and s.home == tmp_path / "h"
    assert s.organisation.name == "Kent Police"
    monkeypatch.setenv("PATROLCAST_CONFIG", str(tmp_path / "other.toml"))
    (tmp_path / "other.toml").write_text("[patrolcast]\ncell_size = 100\n")
    assert load_settings().home == before  # PATROLCAST_CONFIG names the file instead
