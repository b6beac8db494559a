"""The README stays true: its test command is what CI runs, and every setting is listed."""

import re
from pathlib import Path

from fleet.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command():
    test_command = next(b.strip() for b in _bash_blocks() if "pytest" in b)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_has_exactly_two_setup_commands_before_configuration():
    setup = README.split("## Configuration")[0]
    assert len(re.findall(r"```bash\n", setup)) == 2


def test_every_setting_is_in_the_configuration_table():
    for name in Settings.model_fields:
        assert f"`FLEET_{name.upper()}`" in README, name
