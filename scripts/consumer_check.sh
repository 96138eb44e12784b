#!/usr/bin/env bash
# The wheel, used from another repository: build it, install it into a fresh virtual
# environment OUTSIDE this repository, and use it the way examples/consumer/ does.
#
#   scripts/consumer_check.sh            (or: make consumer)
#
# Steps (each timed; any failure exits non-zero):
#   1. build the wheel from a copy of the sources (the working tree gets no build/ or dist/)
#      and check that the package data (py.typed, the runtime Dockerfile) and every module are in it;
#   2. create a venv in a temporary directory and install the consumer's requirements.txt,
#      which points at that wheel (deploy-paradigms[cdk,pulumi]) and cdk-nag, under constraints.txt;
#   3. the CLI from that venv: `deploy-paradigms budget ...` and `deploy-paradigms preview serverless`;
#   4. the installed package: runtime modules import, Lambda bundles and the container context
#      build from site-packages (not from the source tree);
#   5. `cdk synth` of examples/consumer with the pinned CDK CLI and that venv's python
#      (cdk-nag and BudgetGuard run inside the synth and fail it on a finding), and the same
#      app refusing a share that over-promises the database;
#   6. the consumer's Pulumi program under the preview mocks, with the budget guard, and its
#      decisions compared with the CDK template's.
#
# Environment: PYTHON (interpreter for the new venv, default python3), KEEP_WORKDIR=1 to keep
# the temporary directory, CONSUMER_WORKDIR to use a given (empty or new) directory instead.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUILD_PY="${BUILD_PY:-$ROOT/.venv/bin/python}"   # any interpreter with the `build` package
CDK="$ROOT/node_modules/.bin/cdk"
CONSUMER="$ROOT/examples/consumer"
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20,22
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in examples/consumer
unset PYTHONPATH VIRTUAL_ENV       # nothing from the source tree on the import path

WORK="${CONSUMER_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/dp-consumer.XXXXXX")}"
mkdir -p "$WORK"
case "$WORK/" in "$ROOT"/*) echo "consumer-check: the work directory must be outside $ROOT" >&2; exit 2;; esac
cleanup() { if [ "${KEEP_WORKDIR:-0}" != 1 ] && [ -z "${CONSUMER_WORKDIR:-}" ]; then rm -rf "$WORK"; fi; }
trap cleanup EXIT

for tool in "$BUILD_PY" "$CDK"; do
  [ -x "$tool" ] || { echo "consumer-check: $tool is missing; run 'make setup' first" >&2; exit 2; }
done

START=$SECONDS
STEP_START=$SECONDS
step() {
  if [ -n "${STEP_NAME:-}" ]; then printf 'consumer-check: %-34s %4ss\n' "$STEP_NAME" $((SECONDS - STEP_START)); fi
  STEP_NAME="$1"; STEP_START=$SECONDS
}

# 1. Build the wheel from a clean copy of what the sdist would hold.
step "build wheel"
mkdir -p "$WORK/src/constructs" "$WORK/dist"
cp "$ROOT/pyproject.toml" "$ROOT/README.md" "$WORK/src/"
[ -f "$ROOT/LICENSE" ] && cp "$ROOT/LICENSE" "$WORK/src/"
(cd "$ROOT/constructs" && tar --exclude='__pycache__' --exclude='*.pyc' -cf - deploy_paradigms) \
  | tar -xf - -C "$WORK/src/constructs"
"$BUILD_PY" -m build --wheel --outdir "$WORK/dist" "$WORK/src" > "$WORK/build.log" 2>&1 \
  || { cat "$WORK/build.log" >&2; echo "consumer-check: wheel build failed" >&2; exit 1; }
WHEEL="$(ls "$WORK"/dist/deploy_paradigms-*.whl)"
"$BUILD_PY" - "$WHEEL" "$ROOT/constructs" <<'EOF'
import pathlib
import sys
import zipfile

wheel, source = sys.argv[1], pathlib.Path(sys.argv[2])
names = set(zipfile.ZipFile(wheel).namelist())
expected = {p.relative_to(source).as_posix() for p in (source / "deploy_paradigms").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
missing = sorted(expected - names)
for required in ("deploy_paradigms/py.typed", "deploy_paradigms/runtime/Dockerfile"):
    if required not in names:
        missing.append(required)
if missing:
    sys.exit(f"consumer-check: missing from {pathlib.Path(wheel).name}: {', '.join(sorted(set(missing)))}")
if not any(n.endswith("entry_points.txt") for n in names):
    sys.exit("consumer-check: the wheel declares no console script (deploy-paradigms)")
print(f"consumer-check: {pathlib.Path(wheel).name}: {len(expected)} package files, all present")
EOF

# 2. A fresh venv outside the repository, installed from the consumer's own requirements.
step "venv + pip install (wheel)"
"$PYTHON" -m venv "$WORK/venv"
VENV_PY="$WORK/venv/bin/python"
DEPLOY_PARADIGMS_WHEEL="$WHEEL" "$VENV_PY" -m pip install -q --disable-pip-version-check \
  -c "$ROOT/constraints.txt" -r "$CONSUMER/requirements.txt"

# Everything below runs from the work directory or the consumer's, never from the repository root.
cd "$WORK"
export DEPLOY_PARADIGMS_BUNDLE_DIR="$WORK/bundles"

# 3. The CLI installed by the wheel.
step "CLI: budget + preview"
"$WORK/venv/bin/deploy-paradigms" budget --engine postgres --instance-class db.m5.large
"$WORK/venv/bin/deploy-paradigms" budget --engine postgres --instance-class db.m5.large --json > budget.json
"$WORK/venv/bin/deploy-paradigms" preview serverless > preview.json
"$VENV_PY" - <<'EOF'
import json

budget = json.load(open("budget.json"))
assert budget["serverless"]["reserved_concurrency"] > 0, budget
records = json.load(open("preview.json"))
types = {r["type"] for r in records}
for token in ("deploy-paradigms:serverless_function:ServerlessFunction", "aws:lambda/function:Function",
              "aws:rds/proxy:Proxy"):
    assert token in types, f"preview serverless has no {token}"
print(f"consumer-check: preview serverless: {len(records)} resources")
EOF
if "$WORK/venv/bin/deploy-paradigms" budget --engine postgres --instance-class db.nope.large 2> bad.txt; then
  echo "consumer-check: a bad instance class did not fail the CLI" >&2; exit 1
fi

# 4. The installed package: runtime code and what gets shipped into Lambda and the image.
step "runtime modules + bundles"
"$VENV_PY" - "$ROOT" <<'EOF'
import importlib
import pathlib
import sys
import zipfile

root = pathlib.Path(sys.argv[1]).resolve()
import deploy_paradigms
from deploy_paradigms import packaging

where = pathlib.Path(deploy_paradigms.__file__).resolve()
assert "site-packages" in where.parts and root not in where.parents, f"imported from {where}"
for module in ("runtime.settings", "runtime.connection", "runtime.sample_handler", "runtime.data_endpoint",
               "runtime.edge_handler", "runtime.web_app", "catalog", "budget", "cdk", "pulumi",
               "pulumi.preview", "cdk.database"):
    importlib.import_module(f"deploy_paradigms.{module}")
for kind in packaging.KINDS:
    bundle = packaging.lambda_bundle(kind)
    handler_module = packaging.HANDLERS[kind].rsplit(".", 1)[0]
    assert (bundle / (handler_module.replace(".", "/") + ".py")).is_file(), f"{kind}: no handler module"
    if kind != "edge":
        assert (bundle / "pg8000").is_dir(), f"{kind}: pg8000 not vendored"
    print(f"consumer-check: bundle {kind}: {packaging.zipped_size(bundle)} bytes zipped")
context = packaging.container_context()
assert (context / "Dockerfile").is_file(), "container context without the Dockerfile"
print(f"consumer-check: container context: {sorted(p.name for p in context.iterdir())}")
EOF

# 5. The consumer's CDK app, synthesized with the pinned CLI and the venv's python.
step "cdk synth examples/consumer"
(cd "$CONSUMER" && PATH="$WORK/venv/bin:$PATH" "$CDK" synth --quiet --no-notices -o "$WORK/cdk.out")
"$VENV_PY" - "$WORK/cdk.out" <<'EOF'
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
template = json.loads((out / "Orders.template.json").read_text())
assert (out / "Orders-us-east-1.template.json").is_file(), "no Lambda@Edge support stack"
report = json.loads((out / "validation-report.json").read_text())
# A plugin appears in the report only with (acknowledged) findings; BudgetGuard passing leaves none.
plugins = {r["pluginName"]: r["conclusion"] for r in report["pluginReports"]}
assert all(conclusion == "success" for conclusion in plugins.values()), plugins
types = {r["Type"] for r in template["Resources"].values()}
for needed in ("AWS::Lambda::Function", "AWS::RDS::DBProxy", "AWS::ECS::Service", "AWS::CloudFront::Distribution"):
    assert needed in types, f"no {needed} in the consumer template"
assert "AWS::RDS::DBInstance" not in types, "the existing database must not be created"
outputs = {k: v["Value"] for k, v in template["Outputs"].items()}
(out.parent / "cdk-decisions.json").write_text(json.dumps(
    {"apiReservedConcurrency": int(outputs["ApiReservedConcurrency"]), "webPoolSize": int(outputs["WebPoolSize"])}))
print(f"consumer-check: synth: {len(template['Resources'])} resources, plugins {plugins}")
EOF

# An over-promised database fails the consumer's synth with one line naming every share.
if (cd "$CONSUMER" && CDK_OUTDIR="$WORK/cdk.out.bad" CDK_CONTEXT_JSON='{"dataConnections": "600"}' \
    "$VENV_PY" -m consumer_app 2> "$WORK/over-budget.txt"); then
  echo "consumer-check: dataConnections=600 (over the budget) did not fail the synth" >&2; exit 1
fi
grep -Eq "Orders/Api \(serverless\) [0-9]+; Orders/Web \(containers\) 240; Orders/Data/Function \(serverless\) 600" \
    "$WORK/over-budget.txt" \
  || { cat "$WORK/over-budget.txt" >&2; echo "consumer-check: unexpected over-budget error" >&2; exit 1; }
cat "$WORK/over-budget.txt"

# 6. The consumer's Pulumi program under the preview mocks (budget guard included).
step "pulumi program (mocks)"
(cd "$CONSUMER" && "$VENV_PY" -m consumer_app.offline > "$WORK/pulumi.json")
"$VENV_PY" - "$WORK" <<'EOF'
import json
import pathlib
import sys

work = pathlib.Path(sys.argv[1])
outputs = json.loads((work / "pulumi.json").read_text())["outputs"]
cdk = json.loads((work / "cdk-decisions.json").read_text())
pulumi = {key: outputs[key] for key in cdk}
assert pulumi == cdk, f"CDK and Pulumi disagree: cdk {cdk}, pulumi {pulumi}"
print(f"consumer-check: Pulumi outputs match the CDK template: {cdk}")
print(outputs["connectionBudget"])
EOF

step ""
echo "consumer-check: OK in $((SECONDS - START))s (work directory $WORK)"
