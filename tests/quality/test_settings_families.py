"""The LAGESBILD_QUALITY_* and LAGESBILD_ALERT_* families: read by the one loader in lagesbild.settings,
every variable documented in its table (the README's settings table points there)."""

from __future__ import annotations

from dataclasses import fields

import pytest

from lagesbild.alerts.config import AlertConfig, AlertConfigError, env_var
from lagesbild.quality.config import QualityConfig
from lagesbild.settings import FAMILIES, PROJECT_ROOT, markdown_table, parse_bool, parse_list


def test_every_family_variable_is_in_its_docs_table():
    quality = (PROJECT_ROOT / "docs" / "quality.md").read_text(encoding="utf-8")
    alerts = (PROJECT_ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    for f in fields(QualityConfig):
        assert f"`LAGESBILD_QUALITY_{f.name.upper()}`" in quality, f.name
    for f in fields(AlertConfig):
        assert env_var(f.name) in alerts, f.name
    assert all(f"`{prefix}*`" in markdown_table() for prefix in FAMILIES)


def test_families_parse_lists_numbers_and_the_fallback():
    config = QualityConfig.from_env(
        {
            "LAGESBILD_QUALITY_SITES": " a, ,b ",
            "LAGESBILD_QUALITY_SHARE_MIN_ROWS": "7",
            "LAGESBILD_QUARANTINE_MAX_SHARE": "0.2",
            "LAGESBILD_QUALITY_VOLUME_ALPHA": "",
        }
    )
    assert config.sites == ("a", "b") and config.share_min_rows == 7 and config.quarantine_max_share == 0.2
    assert config.volume_alpha == QualityConfig().volume_alpha  # empty: the default
    both = {"LAGESBILD_QUARANTINE_MAX_SHARE": "0.2", "LAGESBILD_QUALITY_QUARANTINE_MAX_SHARE": "0.3"}
    assert QualityConfig.from_env(both).quarantine_max_share == 0.3
    alert = AlertConfig.from_env({"LAGESBILD_ALERT_NOTIFY": "log", "LAGESBILD_ALERT_WEBHOOK_URL": "http://x"})
    assert alert.notify_channels == ("log",) and alert.webhook_url == "http://x"


def test_a_bad_family_value_names_the_variable():
    with pytest.raises(ValueError, match="LAGESBILD_QUALITY_SHARE_MIN_ROWS='many' is not a valid int"):
        QualityConfig.from_env({"LAGESBILD_QUALITY_SHARE_MIN_ROWS": "many"})
    with pytest.raises(AlertConfigError, match="LAGESBILD_ALERT_TRAILING_WEEKS='x' is not a valid int"):
        AlertConfig.from_env({"LAGESBILD_ALERT_TRAILING_WEEKS": "x"})


def test_one_truthiness_and_one_list_parser():
    assert [parse_bool(w) for w in ("on", " TRUE", "1", "running", "off", "no", "", "stopped")] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    with pytest.raises(ValueError, match="neither on nor off"):
        parse_bool("maybe")
    assert parse_list("a,,b , c") == ("a", "b", "c") and parse_list("") == ()
