"""Settings: embedded defaults, and production mode refuses weak secrets."""

import pytest

from fleet.settings import Settings, SettingsError


def test_defaults_use_sqlite_file_and_embedded_broker(tmp_path):
    s = Settings(data_dir=tmp_path, secret_key=None, database_url=None, mqtt_url=None)
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/fleet.db"
    assert s.uses_embedded_broker
    assert s.resolved_mqtt_url == "mqtt://127.0.0.1:1884"
    assert s.display_timezone == "Asia/Shanghai"


def test_development_generates_and_keeps_a_secret(tmp_path):
    s = Settings(data_dir=tmp_path, secret_key=None)
    key = s.signing_key()
    assert len(key) >= 32
    assert Settings(data_dir=tmp_path, secret_key=None).signing_key() == key


@pytest.mark.parametrize("secret", [None, "", "changeme", "short-secret"])
def test_production_refuses_missing_or_weak_secret(secret):
    with pytest.raises(SettingsError, match="FLEET_SECRET_KEY"):
        Settings(env="production", secret_key=secret, mqtt_url="mqtt://broker:1883")


def test_production_accepts_a_strong_secret():
    key = "u7Rk2QeN9vTz4Lm8Xc1Bw6Ps3Hd0Jf5Ga"
    s = Settings(env="production", secret_key=key, mqtt_url="mqtt://broker:1883",
                 audit_checkpoint_key="Vn4Tq8Lz1Rk6Wm3Hc9Pb2Xj7Gd5Fs0Ye")
    assert s.signing_key() == key


def test_unknown_timezone_is_refused():
    with pytest.raises(ValueError, match="display_timezone"):
        Settings(display_timezone="Mars/Olympus")
