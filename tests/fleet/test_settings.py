"""Settings: embedded defaults, production mode refuses weak secrets, groups read
``FLEET_<GROUP>_<FIELD>`` from the environment and ``.env``, one unit per kind of quantity."""

import pytest
from pydantic_settings import BaseSettings
from typer.testing import CliRunner

from fleet.broker import broker_client
from fleet.cli import app
from fleet.settings import (
    AuditSettings,
    IngestSettings,
    MqttSettings,
    RulesSettings,
    Settings,
    SettingsError,
    configuration_table,
    env_name,
)


def test_defaults_use_sqlite_file_and_embedded_broker(tmp_path):
    s = Settings(data_dir=tmp_path, secret_key=None, database_url=None, mqtt=MqttSettings(url=None))
    assert s.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/fleet.db"
    assert s.uses_embedded_broker
    assert s.resolved_mqtt_url == "mqtt://127.0.0.1:1884"
    assert s.display_timezone == "Asia/Shanghai"


@pytest.mark.parametrize(("url", "protocol", "v5"), [
    (None, "auto", False),  # the embedded broker speaks 3.1.1
    ("mqtt://127.0.0.1:1883", "auto", True),
    ("mqtt://127.0.0.1:1884", "3.1.1", False),  # an embedded broker started by another process
    (None, "5", True),
])
def test_every_client_speaks_the_protocol_of_the_setting(tmp_path, url, protocol, v5):
    s = Settings(data_dir=tmp_path, mqtt=MqttSettings(url=url, protocol=protocol))
    assert s.mqtt_v5 is v5
    client = broker_client(s, "web")
    assert client.v5 is v5
    client.close()


def test_development_generates_and_keeps_a_secret(tmp_path):
    s = Settings(data_dir=tmp_path, secret_key=None)
    key = s.signing_key()
    assert len(key) >= 32
    assert Settings(data_dir=tmp_path, secret_key=None).signing_key() == key


@pytest.mark.parametrize("secret", [None, "", "changeme", "short-secret"])
def test_production_refuses_missing_or_weak_secret(secret):
    with pytest.raises(SettingsError, match="FLEET_SECRET_KEY"):
        Settings(env="production", secret_key=secret, mqtt=MqttSettings(url="mqtt://broker:1883"))


def test_production_accepts_a_strong_secret():
    key = "u7Rk2QeN9vTz4Lm8Xc1Bw6Ps3Hd0Jf5Ga"
    s = Settings(env="production", secret_key=key, mqtt=MqttSettings(url="mqtt://broker:1883"),
                 audit=AuditSettings(checkpoint_key="Vn4Tq8Lz1Rk6Wm3Hc9Pb2Xj7Gd5Fs0Ye"))
    assert s.signing_key() == key


def test_unknown_timezone_is_refused():
    with pytest.raises(ValueError, match="display_timezone"):
        Settings(display_timezone="Mars/Olympus")


def test_groups_read_group_prefixed_variables(monkeypatch):
    monkeypatch.setenv("FLEET_INGEST_BATCH_SIZE", "77")
    monkeypatch.setenv("FLEET_RULES_ORDER_GRACE_BEFORE_S", "900")
    monkeypatch.setenv("FLEET_MOTION_STOP_RADIUS_M", "150")
    monkeypatch.setenv("FLEET_WEB_TOKEN_TTL_S", "600")
    monkeypatch.setenv("FLEET_MQTT_EMBEDDED_PORT", "1999")
    s = Settings()
    assert s.ingest.batch_size == 77
    assert s.rules.order_grace_before_s == 900
    assert s.motion.stop_radius_m == 150
    assert s.web.token_ttl_s == 600
    assert s.resolved_mqtt_url == "mqtt://127.0.0.1:1999"


def test_groups_read_the_env_file(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("FLEET_INGEST_PROCESSES=3\nFLEET_RULES_OFFLINE_AFTER_S=120\n"
                                   "FLEET_LOG_LEVEL=DEBUG\n")
    monkeypatch.chdir(tmp_path)
    s = Settings()
    assert (s.ingest.processes, s.rules.offline_after_s, s.log_level) == (3, 120, "DEBUG")


def test_a_group_given_to_the_constructor_replaces_the_environment(monkeypatch):
    monkeypatch.setenv("FLEET_INGEST_PROCESSES", "4")
    monkeypatch.setenv("FLEET_INGEST_BATCH_SIZE", "55")
    s = Settings(ingest=IngestSettings(processes=2))
    assert (s.ingest.processes, s.ingest.batch_size) == (2, 55)


def test_a_bad_group_value_names_the_field(monkeypatch):
    monkeypatch.setenv("FLEET_RULES_OVERNIGHT_MIN_S", "-1")
    with pytest.raises(ValueError, match="overnight_min_s"):
        Settings()


def _every_field():
    yield from ((Settings, name, field) for name, field in Settings.model_fields.items()
                if not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings)))
    for group in Settings.model_fields.values():
        if isinstance(group.annotation, type) and issubclass(group.annotation, BaseSettings):
            yield from ((group.annotation, name, field) for name, field in group.annotation.model_fields.items())


UNIT_WORDS = {"_s": "seconds", "_m": "metres", "_kmh": "km/h", "_cny": "CNY", "_bytes": "bytes"}


@pytest.mark.parametrize(("cls", "name", "field"), list(_every_field()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_setting_has_a_description_that_states_its_unit(cls, name, field):
    assert field.description, name
    for suffix, word in UNIT_WORDS.items():
        if name.endswith(suffix):
            assert field.description.rstrip(".").endswith(word), (name, field.description)
    assert not name.endswith(("_min", "_h", "_minutes", "_hours")), f"{name}: durations are in seconds"


def test_env_names_are_prefixed_by_group():
    assert env_name(IngestSettings, "batch_size") == "FLEET_INGEST_BATCH_SIZE"
    assert env_name(RulesSettings, "order_grace_before_s") == "FLEET_RULES_ORDER_GRACE_BEFORE_S"
    assert env_name(Settings, "database_url") == "FLEET_DATABASE_URL"


def test_configuration_table_lists_every_setting_with_its_default():
    table = configuration_table()
    for cls, name, field in _every_field():
        assert f"| `{env_name(cls, name)}` |" in table, name
    assert "| `FLEET_RULES_OVERNIGHT_MIN_S` | `14400` |" in table
    assert "| `FLEET_RULES_WORK_START` | `08:00` |" in table
    assert "| `FLEET_LOG_JSON` | `false` |" in table
    assert "**ingest** (`FLEET_INGEST_<FIELD>`)" in table


def test_fleet_settings_table_prints_the_configuration_table():
    result = CliRunner().invoke(app, ["settings", "table"])
    assert result.exit_code == 0, result.output
    assert result.output == configuration_table()
