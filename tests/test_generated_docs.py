"""README's settings tables and meltano.yml are generated from the connectors' own --about."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["scripts/render_readme.py", "scripts/render_meltano_yml.py"])
def test_generated_file_is_fresh(script: str) -> None:
    result = subprocess.run(
        [sys.executable, script, "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("name", ["tap-eaccounting", "target-eaccounting"])
def test_readme_carries_the_settings_table(name: str) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"<!-- BEGIN about:{name} -->" in readme
    block = readme.split(f"<!-- BEGIN about:{name} -->")[1].split(f"<!-- END about:{name} -->")[0]
    assert "| client_secret |" in block
    assert "| token_store_path |" in block
