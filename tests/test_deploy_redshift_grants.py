"""deploy/redshift-grants.sql: a read-only user with SELECT on the configured staging tables, no more."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bot.core.config import Config

ROOT = Path(__file__).resolve().parent.parent
SQL = ROOT / "deploy" / "redshift-grants.sql"
CONFIG = ROOT / "deploy" / "overlays" / "example" / "cdc-bot.yml"


def _statements() -> list[str]:
    text = "\n".join(line.split("--", 1)[0] for line in SQL.read_text().splitlines())
    return [" ".join(s.split()) for s in text.split(";") if s.strip()]


def test_grants_select_on_exactly_the_configured_staging_tables() -> None:
    config = Config.model_validate(yaml.safe_load(CONFIG.read_text()))
    user = config.pipelines[0].redshift.user
    tables = {rule.table for p in config.pipelines for rule in p.freshness}
    statements = _statements()

    creates = [s for s in statements if s.upper().startswith("CREATE USER")]
    assert len(creates) == 1 and creates[0].split()[2] == user
    assert not re.search(r"\b(CREATEDB|CREATEUSER|SUPERUSER)\b", creates[0], re.IGNORECASE)

    grants = [s for s in statements if s.upper().startswith("GRANT")]
    assert len(grants) + len(creates) == len(statements), "only CREATE USER and GRANT statements"
    selects = set()
    for grant in grants:
        match = re.fullmatch(rf"GRANT (SELECT|USAGE) ON (SCHEMA )?([\w.]+) TO {user}", grant, re.IGNORECASE)
        assert match, f"unexpected grant: {grant}"
        if match.group(1).upper() == "USAGE":
            assert match.group(2) and match.group(3) == "staging"
        else:
            assert not match.group(2)
            selects.add(match.group(3))
    assert selects == tables
