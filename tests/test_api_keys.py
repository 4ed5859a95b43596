"""Where the PartnerStack API keys come from: the environment, a TOML config file (explicit or the
default in the user's config directory), and the refusals (missing, half given, too open)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from diagnose.core.errors import BadInput
from diagnose.web.api_keys import (
    Credentials,
    default_config_dir,
    default_config_path,
    load_credentials,
)

PUBLIC = "pk_live_PUBLIC0123456789"
SECRET = "sk_live_SeCrEtLeAk9876543210zyxw"
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def keys_toml(public=PUBLIC, secret=SECRET) -> str:
    return f'public_key = "{public}"\nsecret_key = "{secret}"\n'


@pytest.fixture
def home(tmp_path):
    """An environment whose default config file lives under tmp_path (and holds nothing yet)."""
    return {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "cfg")}


def test_the_environment_gives_the_keys(home):
    env = {**home, "PARTNERSTACK_PUBLIC_KEY": PUBLIC, "PARTNERSTACK_SECRET_KEY": f" {SECRET}\n"}
    creds = load_credentials(env=env)
    assert (creds.public_key, creds.secret_key, creds.source) == (PUBLIC, SECRET, "environment")


def test_the_environment_wins_over_the_default_file(home):
    default = default_config_path(home)
    default.parent.mkdir(parents=True)
    write(default, keys_toml("pk_file_1", "sk_file_1"))
    assert load_credentials(env=home).public_key == "pk_file_1"
    env = {**home, "PARTNERSTACK_PUBLIC_KEY": PUBLIC, "PARTNERSTACK_SECRET_KEY": SECRET}
    assert load_credentials(env=env).public_key == PUBLIC


def test_an_explicit_config_file_wins_over_the_environment(home, tmp_path):
    path = write(tmp_path / "prod.toml", keys_toml("pk_file_2", "sk_file_2"))
    env = {**home, "PARTNERSTACK_PUBLIC_KEY": PUBLIC, "PARTNERSTACK_SECRET_KEY": SECRET}
    creds = load_credentials(path, env=env)
    assert (creds.public_key, creds.secret_key, creds.source) == ("pk_file_2", "sk_file_2", str(path))


def test_a_partnerstack_table_is_read_too(tmp_path, home):
    path = write(tmp_path / "k.toml", "[partnerstack]\n" + keys_toml())
    assert load_credentials(str(path), env=home).secret_key == SECRET


def test_no_keys_anywhere_names_both_variables_and_the_file(home):
    with pytest.raises(BadInput) as caught:
        load_credentials(env=home)
    text = str(caught.value)
    assert "PARTNERSTACK_PUBLIC_KEY" in text and "PARTNERSTACK_SECRET_KEY" in text
    assert str(Path(home["XDG_CONFIG_HOME"]) / "diagnose" / "partnerstack.toml") in text
    assert caught.value.exit_code == 2


@pytest.mark.parametrize("given, missing", [("PARTNERSTACK_PUBLIC_KEY", "PARTNERSTACK_SECRET_KEY"),
                                            ("PARTNERSTACK_SECRET_KEY", "PARTNERSTACK_PUBLIC_KEY")])
def test_half_a_key_pair_in_the_environment_is_refused(home, given, missing):
    with pytest.raises(BadInput, match=f"{given} is set but {missing} is not"):
        load_credentials(env={**home, given: SECRET})


@posix_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_with_the_secret_readable_by_others_is_refused_with_the_chmod(tmp_path, home, mode):
    path = write(tmp_path / "my keys.toml", keys_toml(), mode)
    with pytest.raises(BadInput) as caught:
        load_credentials(path, env=home)
    text = str(caught.value)
    assert f"run `chmod 600 '{path}'`" in text and f"mode {mode:04o}" in text and SECRET not in text
    path.chmod(0o600)
    assert load_credentials(path, env=home).secret_key == SECRET


@posix_only
def test_the_default_file_is_checked_too(home):
    default = default_config_path(home)
    default.parent.mkdir(parents=True)
    write(default, keys_toml(), 0o644)
    with pytest.raises(BadInput, match="chmod 600"):
        load_credentials(env=home)


@pytest.mark.parametrize("text, says", [
    (f"public_key = {PUBLIC}\nsecret_key = {SECRET}\n", "not valid TOML"),
    (f'public_key = "{PUBLIC}"\n', "has no secret_key"),
    (f'secret_key = "{SECRET}"\n', "has no public_key"),
    (keys_toml() + 'secret = "x"\n', r"1 unknown setting\(s\)"),
    (f'public_key = 12\nsecret_key = "{SECRET}"\n', "public_key must be a string"),
    ("", "has no public_key and secret_key"),
], ids=["unquoted", "no-secret", "no-public", "unknown", "number", "empty"])
def test_a_bad_config_file_is_one_line_without_the_secret(tmp_path, home, text, says):
    path = write(tmp_path / "k.toml", text)
    with pytest.raises(BadInput, match=says) as caught:
        load_credentials(path, env=home)
    assert SECRET not in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_or_unreadable_config_file(tmp_path, home):
    with pytest.raises(BadInput, match="does not exist"):
        load_credentials(tmp_path / "nope.toml", env=home)
    with pytest.raises(BadInput, match="is a directory"):
        load_credentials(tmp_path, env=home)
    binary = tmp_path / "bin.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    binary.chmod(0o600)
    with pytest.raises(BadInput, match="not UTF-8"):
        load_credentials(binary, env=home)


def test_credentials_keep_the_secret_out_of_their_repr():
    creds = Credentials(PUBLIC, SECRET)
    assert SECRET not in repr(creds) and SECRET not in str(creds) and PUBLIC in repr(creds)


@pytest.mark.parametrize("public, secret, says", [
    ("", SECRET, "public key is empty"),
    (PUBLIC, "  ", "secret key is empty"),
    (PUBLIC, "sk_abc def", "spaces or control characters"),
    ("pk:x", SECRET, "contains ':'"),
    ("sk_abc", "pk_abc", "look swapped"),
    (SECRET, SECRET, "are the same"),
])
def test_keys_that_cannot_be_keys(public, secret, says):
    with pytest.raises(BadInput, match=says) as caught:
        Credentials(public, secret)
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize("public, secret, test", [
    ("pk_test_abc", "sk_test_def", True), ("pk_abc", "sk_test_def", True), ("PK_TEST_x", "sk_y", True),
    ("pk_live_abc", "sk_live_def", False), ("pk_abc", "sk_contest_x", False),
])
def test_test_keys_are_recognised_by_their_prefix(public, secret, test):
    assert Credentials(public, secret).test is test


@pytest.mark.parametrize("platform, env, expected", [
    ("linux", {"HOME": "/h", "XDG_CONFIG_HOME": "/x"}, "/x/diagnose"),
    ("linux", {"HOME": "/h"}, "/h/.config/diagnose"),
    ("darwin", {"HOME": "/h"}, "/h/Library/Application Support/diagnose"),
    ("win32", {"HOME": "/h", "APPDATA": "/appdata"}, "/appdata/diagnose"),
])
def test_the_default_config_directory_per_platform(platform, env, expected):
    assert default_config_dir(env, platform) == Path(expected)


def test_a_config_path_may_start_with_a_tilde(tmp_path, home, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    write(tmp_path / "keys.toml", keys_toml())
    assert load_credentials("~/keys.toml", env=home).source == str(tmp_path / "keys.toml")


def test_a_secret_pasted_as_a_setting_name_is_not_printed(tmp_path):
    """Found by a new-user test: the unknown setting's name was echoed."""
    path = tmp_path / "partnerstack.toml"
    path.write_text(keys_toml() + 'sk_live_PastedAsAName = "x"\n', encoding="utf-8")
    path.chmod(0o600)
    with pytest.raises(BadInput) as caught:
        load_credentials(path, env={})
    assert "PastedAsAName" not in str(caught.value) and "unknown setting" in str(caught.value)
