"""Every example ships the driver its engine needs: pg8000 for PostgreSQL, PyMySQL for the
MySQL family. A MySQL database behind a bundle without PyMySQL would synthesize and deploy,
then fail on the first query; these tests read what synth actually staged."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy_paradigms import packaging
from tests.conftest import template_of


def lambda_archives(assembly: Any, stack: str) -> dict[str, set[str]]:
    """Function logical id -> top-level names in its staged code .zip (the examples' driver bundles)."""
    out = Path(assembly.directory)
    found: dict[str, set[str]] = {}
    for logical_id, resource in template_of(assembly, stack)["Resources"].items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        key = resource["Properties"].get("Code", {}).get("S3Key")
        staged = out / f"asset.{key}" if isinstance(key, str) else None
        if staged is not None and staged.is_file():
            with zipfile.ZipFile(staged) as archive:
                found[logical_id] = {name.split("/", 1)[0] for name in archive.namelist()}
    return found


def image_requirements(assembly: Any) -> list[str]:
    out = Path(assembly.directory)
    return sorted((p / "requirements.txt").read_text().strip() for p in out.glob("asset.*")
                  if (p / "Dockerfile").is_file())


@pytest.mark.parametrize("engine, driver, other", [("postgres", "pg8000", "pymysql"),
                                                   ("mysql", "pymysql", "pg8000")])
def test_examples_stage_the_engines_driver(synth: Callable[..., Any], engine: str, driver: str,
                                           other: str) -> None:
    assembly = synth(("Serverless", "Paas", "Edge"), **({} if engine == "postgres" else {"engine": engine}))
    bundles = {**lambda_archives(assembly, "Serverless"), **lambda_archives(assembly, "Edge")}
    # the sample function, the data endpoint, and the role bootstrap and the budget check (one logical
    # id each in both stacks)
    assert len(bundles) == 4, f"expected four function bundles, got {sorted(bundles)}"
    for logical_id, names in bundles.items():
        assert driver in names and other not in names, f"{logical_id}: {sorted(names)}"
    distribution = packaging.DRIVERS["postgres" if engine == "postgres" else "mysql"]
    assert [r.split("==")[0] for r in image_requirements(assembly)] == [distribution]


@pytest.mark.parametrize("engine", ["mysql", "mariadb", "aurora-mysql"])
def test_mysql_family_bundles_import_pymysql_alone(engine: str, tmp_path: Path) -> None:
    bundle = packaging.lambda_bundle("sample", engine=engine, cache_dir=tmp_path)
    names = {p.name for p in bundle.iterdir()}
    assert "pymysql" in names and "pg8000" not in names
    context = packaging.container_context(engine=engine, cache_dir=tmp_path)
    assert (context / "requirements.txt").read_text().startswith("PyMySQL==")
