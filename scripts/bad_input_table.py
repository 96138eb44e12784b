"""Render the README's bad-input table from tests/bad_inputs.py.

    .venv/bin/python scripts/bad_input_table.py           # print the table
    .venv/bin/python scripts/bad_input_table.py --write   # replace it in README.md

The table sits between ``<!-- bad-inputs:start -->`` and ``<!-- bad-inputs:end -->``;
tests/test_bad_inputs.py fails when it is stale and runs every row against the
real entry points.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START, END = "<!-- bad-inputs:start -->\n", "<!-- bad-inputs:end -->"

sys.path.insert(0, str(ROOT / "tests"))
from bad_inputs import render_table  # noqa: E402 - tests/ is not a package


def replace_section(text: str, table: str) -> str:
    """``text`` with the section between the markers replaced by ``table``."""
    if START not in text or END not in text:
        raise SystemExit(f"{README.name} has no {START.strip()} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}{table}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--write", action="store_true", help="rewrite the section in README.md")
    args = parser.parse_args(argv)
    table = render_table()
    if args.write:
        README.write_text(replace_section(README.read_text(), table))
    else:
        sys.stdout.write(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
