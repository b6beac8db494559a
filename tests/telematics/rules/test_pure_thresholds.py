"""Rule thresholds come from one settings group, field by field."""

from __future__ import annotations

from datetime import time

import pytest

from fleet.settings import RuleThresholdSettings, Settings
from telematics.rules.context import Thresholds


def test_every_threshold_setting_reaches_the_rules_with_the_settings_default():
    defaults = Thresholds()
    for name, info in RuleThresholdSettings.model_fields.items():
        assert getattr(defaults, name) == info.default == Settings.model_fields[name].default, name


def test_thresholds_follow_the_environment_in_the_units_the_rules_use(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLEET_ORDER_GRACE_BEFORE_MIN", "10")
    monkeypatch.setenv("FLEET_OVERNIGHT_MIN_H", "2.5")
    monkeypatch.setenv("FLEET_WORK_START", "09:30")
    monkeypatch.setenv("FLEET_SPEEDING_MIN_S", "45")
    th = Thresholds.from_settings(Settings())
    assert th.order_grace_before_s == 600 and th.overnight_min_s == 9000
    assert th.work_start == time(9, 30) and th.work_start_s == 9.5 * 3600
    assert th.speeding_min_s == 45 and th.as_evidence("speeding_min_s", "order_grace_before_s") == {
        "speeding_min_s": 45, "order_grace_before_s": 600}


def test_thresholds_are_read_only_and_checked():
    with pytest.raises(ValueError, match="frozen"):
        Thresholds().stop_radius_m = 10  # type: ignore[misc]
    with pytest.raises(ValueError, match="stop_radius_m"):
        Thresholds(stop_radius_m=-1)
