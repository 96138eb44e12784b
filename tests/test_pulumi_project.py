"""Pulumi.yaml and the program's config under the rules the real Pulumi CLI applies.

The offline preview runs the program under mocks, which accept any config. The
CLI does not: a project key declared with a type and no default is *required*,
so ``pulumi stack init dev && pulumi up`` stops before the program runs. These
tests apply that rule to Pulumi.yaml, and check that the program refuses keys it
does not read instead of falling back to a default in silence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("pulumi")

from deploy_paradigms.budget import InputError  # noqa: E402
from deploy_paradigms.pulumi import program  # noqa: E402
from deploy_paradigms.pulumi.preview import render_stack  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PROJECT_FILE = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
PROJECT_KEYS = {k: v for k, v in PROJECT_FILE["config"].items() if ":" not in k}
TYPES = {"string": str, "integer": int, "boolean": bool}


def required_keys(config: dict[str, Any]) -> list[str]:
    """The CLI's rule: a declared project key with no default (and no value) must be set per stack."""
    return sorted(k for k, v in config.items()
                  if ":" not in k and isinstance(v, dict) and "default" not in v and "value" not in v)


def test_the_rule_flags_a_typed_key_without_default() -> None:
    # The shape Pulumi.yaml had before: `maxConnections: {type: integer, description: ...}`.
    assert required_keys({"maxConnections": {"type": "integer", "description": "x"},
                          "engine": {"type": "string", "default": "postgres"}}) == ["maxConnections"]


def test_no_project_key_is_required_so_a_new_stack_runs() -> None:
    assert PROJECT_FILE["name"] == program.PROJECT
    assert required_keys(PROJECT_FILE["config"]) == []


@pytest.mark.parametrize("key", sorted(PROJECT_KEYS))
def test_declared_defaults_have_their_type_and_are_read(key: str) -> None:
    declared = PROJECT_KEYS[key]
    assert isinstance(declared["default"], TYPES[declared["type"]])
    assert key in program.CONFIG_KEYS, f"{key} is declared in Pulumi.yaml but the program never reads it"


def test_every_optional_key_is_documented_in_the_project_file() -> None:
    text = (ROOT / "Pulumi.yaml").read_text()
    optional = set(program.CONFIG_KEYS) - set(PROJECT_KEYS)
    for paradigm in program.PARADIGMS:
        optional |= set(program.load_example(paradigm).CONFIG_KEYS)
    missing = sorted(k for k in optional if k not in text)
    assert not missing, f"optional config keys not mentioned in Pulumi.yaml: {missing}"


@pytest.mark.parametrize("key,suggestion", [("instance_class", "instanceClass"), ("bogusKey", None),
                                            ("maxconnections", "maxConnections")])
def test_unknown_project_keys_are_refused_with_the_near_key(key: str, suggestion: str | None) -> None:
    with pytest.raises(InputError, match=f"config key '{key}' is not read by this program") as err:
        render_stack("serverless", {key: "db.m5.large"})
    assert (f"did you mean '{suggestion}'" in str(err.value)) == (suggestion is not None)


def test_an_example_key_is_known_only_to_its_paradigm() -> None:
    with pytest.raises(InputError, match="config key 'poolSize' is not read"):
        render_stack("serverless", {"poolSize": "5"})


def test_keys_of_other_namespaces_are_left_to_their_providers() -> None:
    preview = render_stack("serverless", {"aws:region": "eu-central-1", "instanceClass": "db.m5.large"})
    assert preview.outputs["connectionBudget"].startswith("**postgres db.m5.large**")
