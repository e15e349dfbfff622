"""Settings from the environment: types, and limits refused at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest

from civil.settings import Settings


def test_environment_values_are_typed(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {"CIVIL_DATA_DIR": str(tmp_path), "CIVIL_AKISMET_DEADLINE_SECONDS": "2.5"}
    )
    assert settings.akismet_deadline_seconds == 2.5
    assert settings.database_url.startswith("sqlite:///")


@pytest.mark.parametrize("value", ["-1", "31"])
def test_an_unbounded_akismet_deadline_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="CIVIL_AKISMET_DEADLINE_SECONDS"):
        Settings.from_env(
            {"CIVIL_DATA_DIR": str(tmp_path), "CIVIL_AKISMET_DEADLINE_SECONDS": value}
        )


@pytest.mark.parametrize("value", ["-1", "20"])
def test_a_worker_nice_outside_0_to_19_is_refused(tmp_path: Path, value: str) -> None:
    with pytest.raises(ValueError, match="CIVIL_WORKER_NICE"):
        Settings.from_env({"CIVIL_DATA_DIR": str(tmp_path), "CIVIL_WORKER_NICE": value})
    assert Settings.from_env({"CIVIL_DATA_DIR": str(tmp_path)}).worker_nice == 5
