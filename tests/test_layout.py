"""The layout promise: `constructs/` is a source root, never a package that shadows the
`constructs` library aws-cdk-lib imports; the budget core imports no framework."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_constructs_dir_is_not_a_package() -> None:
    assert not (ROOT / "constructs" / "__init__.py").exists()


def test_import_constructs_resolves_to_the_library_from_repo_root() -> None:
    code = ("import constructs, sys; print(constructs.__file__); "
            "print(hasattr(constructs, 'Construct'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    assert "site-packages" in out[0] and out[1] == "True", out
    # And with the source root itself first on the path, as an editable install has it.
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'constructs'}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                         env=env).stdout.split()
    assert "site-packages" in out[0] and out[1] == "True", out


def test_no_folder_named_after_a_dependency_on_the_import_path() -> None:
    for source_root in (ROOT, ROOT / "constructs", ROOT / "stacks"):
        for name in ("aws_cdk", "pulumi", "constructs", "cdk_nag", "pulumi_aws"):
            candidate = source_root / name
            if source_root == ROOT and name == "constructs":
                assert not (candidate / "__init__.py").exists()
                continue
            assert not candidate.exists(), f"{candidate} would shadow the {name} library"


def test_budget_core_imports_no_framework() -> None:
    code = ("import sys, deploy_paradigms.budget, deploy_paradigms.cli, deploy_paradigms.runtime.settings; "
            "frameworks = ('aws_cdk', 'pulumi', 'pulumi_aws', 'jsii'); "
            "print([m for m in sys.modules if m.split('.')[0] in frameworks])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_plans_import_no_framework() -> None:
    """Every module of the decision layer, imported, loads neither aws-cdk-lib nor pulumi."""
    modules = sorted(p.stem for p in (ROOT / "constructs" / "deploy_paradigms" / "plans").glob("*.py")
                     if p.stem != "__init__")
    assert {"checks", "database", "edge", "environment", "names", "paas"} <= set(modules)
    code = ("import sys, importlib; "
            f"[importlib.import_module('deploy_paradigms.plans.' + m) for m in {modules!r}]; "
            "frameworks = ('aws_cdk', 'pulumi', 'pulumi_aws', 'jsii', 'constructs'); "
            "print([m for m in sys.modules if m.split('.')[0] in frameworks])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_no_function_of_the_renderers_or_plans_is_over_60_lines() -> None:
    """Constructors read as named steps (issue 11): every function and method in cdk/, pulumi/
    and plans/ fits in 60 lines of body, docstring aside."""
    import ast

    too_long = []
    for folder in ("cdk", "pulumi", "plans"):
        for path in sorted((ROOT / "constructs" / "deploy_paradigms" / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                body = node.body
                has_doc = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                           and isinstance(body[0].value.value, str))
                first = body[1].lineno if has_doc and len(body) > 1 else body[0].lineno
                lines = (node.end_lineno or first) - first + 1
                if lines > 60:
                    too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert not too_long, too_long


def test_cdk_json_runs_the_app_as_a_module() -> None:
    import json

    cfg = json.loads((ROOT / "cdk.json").read_text())
    assert cfg["app"].startswith("python -m ")
    assert cfg["context"]["@aws-cdk/aws-lambda:recognizeLayerVersion"] is True


def test_cdk_json_carries_every_recommended_feature_flag() -> None:
    """Read aws-cdk-lib's own list, so a version bump that adds flags fails here, not in a notice."""
    import json
    import tarfile

    import aws_cdk

    tgz = next((Path(aws_cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz"))
    with tarfile.open(tgz) as archive:
        member = archive.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        recommended = json.load(member)
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    missing = {k: v for k, v in recommended.items() if context.get(k) != v}
    assert not missing, f"cdk.json lacks recommended flags: {sorted(missing)}"


def test_readme_budget_table_is_current() -> None:
    from deploy_paradigms.budget.report import budget_table

    readme = (ROOT / "README.md").read_text()
    start = readme.index("<!-- budget-table:start -->\n") + len("<!-- budget-table:start -->\n")
    end = readme.index("<!-- budget-table:end -->")
    assert readme[start:end] == budget_table(), "README budget table is stale: regenerate it"


def _between(path: Path, name: str) -> str:
    text = path.read_text()
    start = text.index(f"<!-- {name}:start -->\n") + len(f"<!-- {name}:start -->\n")
    return text[start:text.index(f"<!-- {name}:end -->")]


def test_readme_client_table_and_recipes_doc_are_current() -> None:
    from deploy_paradigms.budget.report import client_recipes, client_table

    assert _between(ROOT / "README.md", "client-table") == client_table(), \
        "regenerate the README client table"
    assert _between(ROOT / "docs" / "clients.md", "client-recipes") == client_recipes(), \
        "regenerate docs/clients.md's recipes"


def test_make_test_provides_the_database_servers_before_the_suite() -> None:
    """A fresh machine without MariaDB or PostgreSQL: `make test` installs them first, and
    CI runs exactly the README's command instead of installing them itself."""
    recipe = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True,
                            timeout=60).stdout.splitlines()
    commands = [line for line in recipe if "test_databases.sh" in line or "pytest" in line]
    assert commands[0] == "scripts/test_databases.sh" and "pytest" in commands[1], recipe
    ci = (ROOT / ".ci" / "run").read_text()
    assert "apt-get" not in ci and "\nmake test " in ci
    assert os.access(ROOT / "scripts" / "test_databases.sh", os.X_OK)
