"""One settings object: every field documented in .env.example, read from KHABAR_ variables."""

from __future__ import annotations

import re

import pytest

from retrieval.settings import Settings
from tests.conftest import ROOT


def test_env_example_documents_exactly_the_settings() -> None:
    documented = re.findall(r"^# KHABAR_([A-Z0-9_]+)=", (ROOT / ".env.example").read_text("utf-8"), re.M)
    assert sorted(d.lower() for d in documented) == sorted(Settings.model_fields)


def test_environment_overrides_and_secrets_stay_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KHABAR_ABSTAIN_BELOW_EN", "1.2")
    monkeypatch.setenv("KHABAR_LLM_API_KEY", "sk-very-secret")
    settings = Settings(_env_file=None)
    assert settings.abstain_thresholds == {"ar": None, "en": 1.2}
    assert "sk-very-secret" not in repr(settings)
    assert settings.llm_api_key.get_secret_value() == "sk-very-secret"
