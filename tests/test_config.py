"""Settings (app/config.py): one declaration per setting, read from its variable, documented in docs/operations.md."""
from __future__ import annotations

import logging
from dataclasses import fields
from pathlib import Path

import pytest

from app.config import ENV, Settings
from tests.support.apps import make_app

OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def test_config001_every_variable_is_read_and_documented():
    table = OPERATIONS.read_text()
    for f in fields(Settings):
        if ENV in f.metadata:
            assert f"`{f.metadata[ENV]}`" in table, f.metadata[ENV]
    assert Settings.from_env({}) == Settings()


def test_config002_values_parse_and_empty_means_default():
    env = {"DATAVIZ_WEB_TIMEOUT": "2.5", "DATAVIZ_API_KEYS": " a:* , b:admin ,", "DATAVIZ_DEMO": "1",
           "DATAVIZ_APP_CACHE": "0", "DATAVIZ_LOG_LEVEL": "WARNING", "DATAVIZ_SOURCE": ""}
    settings = Settings.from_env(env)
    assert (settings.web_timeout, settings.api_keys, settings.demo, settings.app_cache, settings.log_level,
            settings.source) == (2.5, ("a:*", "b:admin"), True, False, "warning", "var/exports")
    with pytest.raises(ValueError, match="could not convert string to float"):
        Settings.from_env({"DATAVIZ_S3_TIMEOUT": "soon"})
    with pytest.raises(TypeError, match="unknown settings: nope"):
        Settings.from_env({}, nope=1)


def test_config003_the_app_logs_at_dataviz_log_level(generated_snapshot_dir, tmp_path):
    logger = logging.getLogger("dataviz")
    level = logger.level
    try:
        make_app(generated_snapshot_dir, tmp_path / "cache", log_level="warning")
        assert not logger.isEnabledFor(logging.INFO) and logger.isEnabledFor(logging.WARNING)
        make_app(generated_snapshot_dir, tmp_path / "cache")
        assert logger.isEnabledFor(logging.INFO)
    finally:
        logger.setLevel(level)
