"""python -m app.tokens mints tokens that the API accepts, with the claims asked for."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.auth import verify_bearer
from app.config import Settings
from app.tokens import main
from tests.support.credentials import ANALYST_SECRET, EMBED_SECRET

SETTINGS = Settings(embed_secret=EMBED_SECRET, analyst_secret=ANALYST_SECRET)


@pytest.fixture()
def secrets(monkeypatch):
    monkeypatch.setenv("DATAVIZ_EMBED_SECRET", EMBED_SECRET)
    monkeypatch.setenv("DATAVIZ_ANALYST_SECRET", ANALYST_SECRET)


def mint(capsys, *argv) -> str:
    assert main(list(argv)) == 0
    return capsys.readouterr().out.strip()


def test_tok001_embed_token_with_locked_filters(secrets, capsys):
    token = mint(capsys, "--tenant", "acme", "--filters", "group=Sales", "--filters", "group=HR",
                 "--filters", "country=FR", "--locale", "fr", "--theme", "dark", "--ttl", "600")
    scope = verify_bearer(f"Bearer {token}", SETTINGS)
    assert (scope.kind, scope.tenants, scope.locale, scope.theme) == ("embed", frozenset({"acme"}), "fr", "dark")
    assert scope.filters == {"group": ("HR", "Sales"), "country": ("FR",)}
    assert not scope.sees_learners


def test_tok006_a_managers_token_sees_learners(secrets, capsys):
    token = mint(capsys, "--tenant", "acme", "--filters", "group=Sales", "--learners")
    scope = verify_bearer(f"Bearer {token}", SETTINGS)
    assert scope.kind == "embed" and scope.sees_learners and scope.filters == {"group": ("Sales",)}


def test_tok002_analyst_token(secrets, capsys):
    scope = verify_bearer(f"Bearer {mint(capsys, '--analyst')}", SETTINGS)
    assert scope.kind == "analyst" and scope.all_tenants


@pytest.mark.parametrize("argv", [["--tenant", "acme", "--filters", "team=Sales"], ["--tenant", "acme", "--filters",
                                  "group"], ["--tenant", "acme", "--analyst"], [], ["--tenant", "a", "--locale", "de"]])
def test_tok003_bad_arguments(secrets, argv):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2


def test_tok004_missing_secret_or_bad_ttl(monkeypatch, capsys):
    monkeypatch.delenv("DATAVIZ_EMBED_SECRET", raising=False)
    assert main(["--tenant", "acme"]) == 2
    assert "DATAVIZ_EMBED_SECRET" in capsys.readouterr().err
    monkeypatch.setenv("DATAVIZ_EMBED_SECRET", EMBED_SECRET)
    assert main(["--tenant", "acme", "--ttl", str(25 * 3600)]) == 2


def test_tok005_runs_as_a_module():
    env = {**os.environ, "DATAVIZ_EMBED_SECRET": EMBED_SECRET}
    out = subprocess.run([sys.executable, "-m", "app.tokens", "--tenant", "acme"], env=env, capture_output=True,
                         text=True, check=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert verify_bearer(f"Bearer {out.stdout.strip()}", SETTINGS).tenants == frozenset({"acme"})
