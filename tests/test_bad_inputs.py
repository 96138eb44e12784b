"""Every row of the bad-input table fails where it should, with its message, and writes no template.

Construct and catalog rows run in this process; CLI and ``cdk synth`` context rows
run the real entry points as subprocesses, started together up front so they
overlap with the in-process rows.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from bad_inputs import BAD_INPUTS, ROOT, BadInput, Rejected, render_table

from deploy_paradigms.budget import InputError

README = ROOT / "README.md"


def outcome(row: BadInput, outdir: Path) -> str:
    """The error text the row produced; a row that is accepted fails the test."""
    try:
        row.run(outdir)
    except InputError as err:
        return str(err)
    except Rejected as refusal:
        return refusal.text
    raise AssertionError(f"{row.input!r} was accepted; expected: {row.message}")


Started = dict[str, tuple[Future[str], Path]]


@pytest.fixture(scope="module")
def subprocess_outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Started]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        started: Started = {}
        for row in BAD_INPUTS:
            if row.subprocess:
                outdir = tmp_path_factory.mktemp("bad-input")
                started[row.id] = (pool.submit(outcome, row, outdir), outdir)
        yield started


def test_the_table_has_twenty_distinct_rows() -> None:
    assert len(BAD_INPUTS) >= 20
    assert len({r.input for r in BAD_INPUTS}) == len(BAD_INPUTS)
    assert len({r.message for r in BAD_INPUTS}) == len(BAD_INPUTS)
    wheres = {r.where for r in BAD_INPUTS}
    assert {"CLI", "`cdk synth` context", "query catalog"} <= wheres
    assert sum(w.startswith("CDK `") for w in wheres) >= 4


@pytest.mark.parametrize("row", BAD_INPUTS, ids=[r.id for r in BAD_INPUTS])
def test_bad_input_is_refused_with_its_message(row: BadInput, tmp_path: Path,
                                               subprocess_outcomes: Started) -> None:
    if row.subprocess:
        future, outdir = subprocess_outcomes[row.id]
        text = future.result(timeout=300)
    else:
        outdir = tmp_path
        text = outcome(row, outdir)
    assert row.message in text, text
    assert not list(outdir.rglob("*.template.json")), "a template was written despite the error"


def test_readme_table_is_generated_from_the_rows() -> None:
    readme = README.read_text()
    start = readme.index("<!-- bad-inputs:start -->\n") + len("<!-- bad-inputs:start -->\n")
    end = readme.index("<!-- bad-inputs:end -->")
    assert readme[start:end] == render_table(), \
        "README bad-input table is stale: run .venv/bin/python scripts/bad_input_table.py --write"
    assert readme.index("<!-- bad-inputs:end -->") < readme.index("## Reviewing changes in pull requests")


def test_the_script_prints_the_same_table() -> None:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "bad_input_table.py")], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    assert out == render_table()
