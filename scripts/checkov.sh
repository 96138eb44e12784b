#!/usr/bin/env bash
# Checkov (an independent IaC scanner) over every synthesized template, in a venv of its own
# (its dependencies are heavy and must not mix with the project's pins).
#   scripts/checkov.sh            # synthesizes into cdk.out (make synth-all) unless templates exist
# Every finding is fixed or listed once, with its reason, in .checkov.yaml's skip list or
# checkov-baseline.json; a finding in neither fails (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
CHECKOV_VERSION=3.3.30
VENV=.venv-checkov
if [ ! -x "$VENV/bin/checkov" ] || [ "$("$VENV/bin/checkov" --version 2>/dev/null)" != "$CHECKOV_VERSION" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q "checkov==$CHECKOV_VERSION"
fi
if ! ls cdk.out/*.template.json >/dev/null 2>&1; then
  make synth-all
fi
exec python3 scripts/checkov_check.py "$VENV/bin/checkov" cdk.out
