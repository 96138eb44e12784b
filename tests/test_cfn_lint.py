"""cfn-lint over every synthesized example template, including the us-east-1 support stack.

Zero errors and zero warnings, except checks ignored in the repository's
``.cfnlintrc.yaml``, each with a comment saying why it cannot be fixed in our code.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # cfn-lint's dependency, no stubs installed

ROOT = Path(__file__).resolve().parents[1]
CFN_LINT = ROOT / ".venv" / "bin" / "cfn-lint"
CONFIG = ROOT / ".cfnlintrc.yaml"
#: Every stack the example app synthesizes, by the app stack that creates it.
STACKS = {"Serverless": ("Serverless",), "Paas": ("Paas",), "Edge": ("Edge", "Edge-us-east-1"),
          "Changes": ("Changes",)}


def test_every_template_is_clean(synth: Callable[..., Any]) -> None:
    templates = [synth((app_stack,)).get_stack_by_name(name).template_full_path
                 for app_stack, names in STACKS.items() for name in names]
    assert len(templates) == 5 and all(Path(t).is_file() for t in templates)
    # From the repository root so cfn-lint reads .cfnlintrc.yaml, as CI's `cfn-lint` does.
    result = subprocess.run([str(CFN_LINT), "--format", "parseable", *templates], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout == "", result.stdout + result.stderr


def test_every_ignored_check_is_justified() -> None:
    config = yaml.safe_load(CONFIG.read_text())
    ignored = config.get("ignore_checks") or []
    assert ignored == ["W3005"], "a new ignore needs a justification here and in docs/security.md"
    lines = CONFIG.read_text().splitlines()
    for check in ignored:
        at = next(i for i, line in enumerate(lines) if line.strip() == f"- {check}")
        comment: list[str] = []
        for line in reversed(lines[:at]):
            if not line.strip().startswith("#"):
                break
            comment.insert(0, line.strip().lstrip("# "))
        reason = " ".join(comment)
        assert reason.startswith(check) and len(reason) > 150, f"{check} needs a specific reason"
    assert not config.get("ignore_templates"), "no template may be skipped"
