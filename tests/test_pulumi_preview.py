"""The offline Pulumi preview: deterministic records, parents, config, errors, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pulumi_aws")

import pulumi  # noqa: E402
import pulumi_aws as aws  # noqa: E402

from deploy_paradigms import cli  # noqa: E402
from deploy_paradigms.budget import BudgetError, BudgetExceededError, InputError  # noqa: E402
from deploy_paradigms.pulumi import Database, DatabaseArgs, Network  # noqa: E402
from deploy_paradigms.pulumi.preview import preview_json, render, render_program  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def serverless_m5() -> list[dict[str, Any]]:
    return render("serverless", {"instanceClass": "db.m5.large"})


def test_records_have_the_documented_shape(serverless_m5: list[dict[str, Any]]) -> None:
    assert serverless_m5, "the program created nothing"
    for record in serverless_m5:
        assert set(record) == {"type", "name", "parent", "inputs"}
        assert record["parent"] is None or isinstance(record["parent"], str)
        json.dumps(record, allow_nan=False)  # JSON-safe
    keys = [(r["type"], r["name"]) for r in serverless_m5]
    assert keys == sorted(keys)


def test_components_appear_with_their_parents(serverless_m5: list[dict[str, Any]]) -> None:
    by_name = {r["name"]: r for r in serverless_m5}
    assert by_name["network"]["type"] == "deploy-paradigms:network:Network"
    assert by_name["database"]["type"] == "deploy-paradigms:database:Database"
    assert by_name["network"]["parent"] is None and by_name["database"]["parent"] is None
    assert by_name["network-vpc"]["parent"] == "network"
    assert by_name["database-instance"]["parent"] == "database"
    names = set(by_name)
    assert all(r["parent"] in names for r in serverless_m5 if r["parent"] is not None)


def test_config_reaches_the_program(serverless_m5: list[dict[str, Any]]) -> None:
    by_name = {r["name"]: r for r in serverless_m5}
    assert by_name["database-instance"]["inputs"]["instanceClass"] == "db.m5.large"
    assert by_name["database"]["inputs"]["connectionBudget"]["usable"] == 813


def test_two_renders_are_identical(serverless_m5: list[dict[str, Any]]) -> None:
    again = render("serverless", {"instanceClass": "db.m5.large"})
    assert again == serverless_m5
    assert preview_json("serverless", {"instanceClass": "db.m5.large"}) == json.dumps(
        serverless_m5, indent=2, sort_keys=True)
    assert str(ROOT) not in json.dumps(serverless_m5)  # no absolute paths (assets are hashed)


def test_unknown_paradigm_is_an_input_error_listing_the_known_ones() -> None:
    with pytest.raises(InputError, match="serverless, paas, edge"):
        render("mainframe", {})


def _db_program(**db_args: Any) -> Any:
    def program() -> None:
        Database("database", DatabaseArgs(network=Network("network"), **db_args))
    return program


def test_budget_errors_surface_unwrapped_and_do_not_poison_the_next_render() -> None:
    with pytest.raises(BudgetError, match="db.nope.large"):
        render("serverless", {"instanceClass": "db.nope.large"})

    def over_allocate() -> None:
        db = Database("database", DatabaseArgs(network=Network("network")))
        db.allocate("api", db.ledger.available + 1, paradigm="serverless")

    with pytest.raises(BudgetExceededError):
        render_program(over_allocate)
    first = render_program(_db_program())
    assert first == render_program(_db_program())
    assert pulumi.runtime.get_root_resource() is None  # the caller's context was left alone


def test_config_namespaces_and_region() -> None:
    seen: dict[str, Any] = {}

    def program() -> None:
        seen["project"] = pulumi.Config().get("greeting")
        seen["aws"] = pulumi.Config("aws").get("region")
        Network("network")

    records = render_program(program, {"greeting": "hi", "aws:region": "eu-west-1"}).resources
    assert seen == {"project": "hi", "aws": "eu-west-1"}
    azs = sorted(r["inputs"]["availabilityZone"] for r in records if r["type"].endswith(":Subnet"))
    assert set(azs) == {"eu-west-1a", "eu-west-1b"}


def test_secrets_are_masked_and_archives_hashed_by_content(tmp_path: Path) -> None:
    for name in ("one", "two"):
        (tmp_path / name / "pkg").mkdir(parents=True)
        (tmp_path / name / "pkg" / "app.py").write_text("def handler(event, context):\n    return 1\n")

    def program() -> None:
        secret = aws.secretsmanager.Secret("secret")
        aws.secretsmanager.SecretVersion("version", secret_id=secret.id,
                                         secret_string=pulumi.Output.secret("hunter2"))
        for name in ("one", "two"):
            aws.lambda_.Function(f"fn-{name}", role="arn:aws:iam::123456789012:role/r", runtime="python3.12",
                                 handler="app.handler", code=pulumi.FileArchive(str(tmp_path / name)))
        aws.lambda_.Function("fn-inline", role="arn:aws:iam::123456789012:role/r", runtime="python3.12",
                             handler="app.handler",
                             code=pulumi.AssetArchive({"app.py": pulumi.StringAsset("x = 1\n")}))
        pulumi.export("secretValue", pulumi.Output.secret("hunter2"))

    preview = render_program(program)
    dumped = json.dumps(preview.resources)
    assert "hunter2" not in dumped and "hunter2" not in json.dumps(preview.outputs)
    version = next(r for r in preview.resources if r["name"] == "version")
    assert version["inputs"]["secretString"] == "[secret]"
    assert preview.outputs["secretValue"] == "[secret]"
    codes = {r["name"]: r["inputs"]["code"] for r in preview.resources if r["name"].startswith("fn-")}
    assert codes["fn-one"] == codes["fn-two"] != codes["fn-inline"]
    assert codes["fn-one"]["archive"].startswith("sha256:") and len(codes["fn-one"]["archive"]) == 71
    assert str(tmp_path) not in dumped


def test_stack_outputs_resolve_through_the_mocks() -> None:
    def program() -> None:
        db = Database("database", DatabaseArgs(network=Network("network")))
        pulumi.export("endpoint", db.endpoint_address)
        pulumi.export("secretArn", db.secret_arn)

    outputs = render_program(program).outputs
    assert outputs["endpoint"].startswith("deploy-paradigms-preview-database.")
    assert outputs["secretArn"].startswith("arn:aws:secretsmanager:us-east-1:123456789012:secret:")


def test_cli_preview_prints_the_records(capsys: pytest.CaptureFixture[str],
                                        serverless_m5: list[dict[str, Any]]) -> None:
    assert cli.main(["preview", "serverless", "--config", "instanceClass=db.m5.large"]) == 0
    assert json.loads(capsys.readouterr().out) == serverless_m5


@pytest.mark.parametrize("config", ["instanceClass=db.nope.large", "maxConnections=lots", "reserve=99999",
                                    "noequals"])
def test_cli_preview_bad_config_exits_2_with_one_line(capsys: pytest.CaptureFixture[str],
                                                      config: str) -> None:
    assert cli.main(["preview", "serverless", "--config", config]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("deploy-paradigms: error: "), captured.err


def test_console_script_bad_config_one_line() -> None:
    done = subprocess.run([sys.executable, "-m", "deploy_paradigms.cli", "preview", "serverless",
                           "--config", "engine=oracle"], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "engine='oracle'" in done.stderr, done.stderr


def test_pulumi_project_file_points_at_the_program() -> None:
    yaml = pytest.importorskip("yaml")
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "deploy-paradigms"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert (ROOT / project["main"] / "__main__.py").is_file()
    assert project["config"]["paradigm"]["default"] == "serverless"
    assert project["config"]["instanceClass"]["default"] == "db.t3.micro"
    assert project["config"]["engine"]["default"] == "postgres"
