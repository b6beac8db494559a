"""Rule thresholds come from the settings groups ``motion`` and ``rules``, field by field."""

from __future__ import annotations

from datetime import time

import pytest

from fleet.settings import MotionSettings, RulesSettings, Settings
from telematics.rules.context import Thresholds


def test_every_threshold_setting_reaches_the_rules_with_the_settings_default():
    defaults = Thresholds()
    groups = (MotionSettings, RulesSettings)
    assert set(Thresholds.model_fields) == {name for group in groups for name in group.model_fields}
    for group in groups:
        for name, info in group.model_fields.items():
            assert getattr(defaults, name) == info.default == Thresholds.model_fields[name].default, name


def test_thresholds_follow_the_environment_in_the_units_the_rules_use(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("FLEET_RULES_ORDER_GRACE_BEFORE_S", "600")
    monkeypatch.setenv("FLEET_RULES_OVERNIGHT_MIN_S", "9000")
    monkeypatch.setenv("FLEET_RULES_WORK_START", "09:30")
    monkeypatch.setenv("FLEET_RULES_SPEEDING_MIN_S", "45")
    monkeypatch.setenv("FLEET_MOTION_STOP_RADIUS_M", "150")
    th = Thresholds.from_settings(Settings())
    assert th.order_grace_before_s == 600 and th.overnight_min_s == 9000 and th.stop_radius_m == 150
    assert th.work_start == time(9, 30) and th.work_start_s == 9.5 * 3600
    assert th.speeding_min_s == 45 and th.as_evidence("speeding_min_s", "order_grace_before_s") == {
        "speeding_min_s": 45, "order_grace_before_s": 600}


def test_thresholds_are_read_only_and_checked():
    with pytest.raises(ValueError, match="frozen"):
        Thresholds().stop_radius_m = 10  # type: ignore[misc]
    with pytest.raises(ValueError, match="stop_radius_m"):
        Thresholds(stop_radius_m=-1)
