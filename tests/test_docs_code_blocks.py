"""Every code block in README.md and docs/*.md runs (issue 11: "README and docs snippets miss imports").

The convention (also in README.md, "Code blocks in these docs are tested"):

* A ```python block is a complete program and runs as one: imports and all. A block that uses
  ``deploy_paradigms.pulumi`` or ``import pulumi`` runs as a Pulumi program under the mock engine
  (``deploy_paradigms.pulumi.mock_engine``, the one preview and ``check_program`` use), unless it
  drives the engine itself (``preview.render``, ``check_program``); every
  ``cdk.App`` a block leaves behind is synthesized. Blocks run in a scratch directory holding the
  paths the examples use: ``build/api/app.py``, ``app/Dockerfile``, ``web/Dockerfile``,
  ``edge/index.py``.
* A fragment says how to run it in an HTML comment on the line before the fence:
  ``<!-- doc-test: context=cdk-stack -->``: the block runs inside a stack: ``app`` (a ``cdk.App``),
  ``self`` (a ``cdk.Stack`` in eu-west-1) and ``vpc`` (an ``ec2.Vpc`` in it) exist; everything else it
  imports; the app is synthesized afterwards.
  ``<!-- doc-test: context=pulumi -->``: a Pulumi program under the mock engine with ``network``
  (a ``Network``) defined.
  ``<!-- doc-test: context=database-env url-scheme=postgresql+psycopg -->``: the runtime's
  ``DATABASE_*`` environment (the pool contract of a service on a real local PostgreSQL, and
  ``DATABASE_URL`` with the scheme given); pools and engines the block leaves are asked for
  ``select 1``, and a ``handler`` it defines is called.
  ``<!-- doc-test: skip reason="..." -->``: not run; the reason is required.
* A ```bash / ```sh block must parse (``bash -n``). In it, ``deploy-paradigms`` commands must parse
  with the CLI's own parser (``budget`` and ``preview`` run, offline); ``make`` targets must exist;
  ``cdk synth|deploy`` name stacks of the example app; ``pulumi config set`` keys are ones the program
  reads and ``pulumi up`` renders the program with that config; ``pulumi stack output`` names an
  output of the program.

Failures say which file, line and block failed and why.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import shlex
import subprocess
import sys
import textwrap
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)\s*$")
DIRECTIVE = re.compile(r"^<!--\s*doc-test:\s*(?P<body>.*?)\s*-->\s*$")
SHELL = {"bash", "sh", "shell", "console"}
CONTEXTS = {"cdk-stack", "pulumi", "database-env"}
ENV = {"account": "123456789012", "region": "eu-west-1"}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # the line of the opening fence, 1-based
    language: str
    code: str
    directive: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where} ({self.language})"


def parse_directive(body: str, where: str) -> dict[str, str]:
    options: dict[str, str] = {}
    for token in shlex.split(body):
        key, _, value = token.partition("=")
        options[key] = value
    unknown = set(options) - {"context", "skip", "reason", "url-scheme"}
    assert not unknown, f"{where}: unknown doc-test option(s) {sorted(unknown)}"
    if "context" in options:
        assert options["context"] in CONTEXTS, f"{where}: doc-test context must be one of {sorted(CONTEXTS)}"
    if "skip" in options:
        assert options.get("reason"), f'{where}: doc-test skip needs reason="why it cannot run"'
    return options


def blocks_of(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        before = index - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        directive = DIRECTIVE.match(lines[before]) if before >= 0 else None
        where = f"{path.relative_to(ROOT)}:{index + 1}"
        found.append(Block(path, index + 1, opening.group(1).lower(), "\n".join(lines[index + 1:end]),
                           parse_directive(directive.group("body"), where) if directive else {}))
        index = end + 1
    return found


ALL_BLOCKS = [block for path in DOCUMENTS for block in blocks_of(path)]
PYTHON = [b for b in ALL_BLOCKS if b.language == "python"]
SHELL_BLOCKS = [b for b in ALL_BLOCKS if b.language in SHELL]


def test_the_docs_have_blocks_to_run() -> None:
    assert len(PYTHON) >= 20 and len(SHELL_BLOCKS) >= 10, (len(PYTHON), len(SHELL_BLOCKS))


def test_directives_stand_before_a_fence() -> None:
    """A doc-test comment that is not directly above a code block would silently do nothing."""
    for path in DOCUMENTS:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if DIRECTIVE.match(line):
                following = next((x for x in lines[number + 1:] if x.strip()), "")
                assert FENCE.match(following), f"{path.relative_to(ROOT)}:{number + 1}: doc-test comment " \
                                               f"not followed by a code block"


# -- python -----------------------------------------------------------------------------------------

@pytest.fixture()
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the paths the examples name."""
    files = {
        "build/api/app.py": "def handler(event, context):\n    return {'statusCode': 200}\n",
        "app/Dockerfile": "FROM public.ecr.aws/docker/library/python:3.12-slim\nCMD [\"python\", \"-V\"]\n",
        "web/Dockerfile": "FROM public.ecr.aws/docker/library/python:3.12-slim\nCMD [\"python\", \"-V\"]\n",
        "edge/index.py": "def handler(event, context):\n    return event['Records'][0]['cf']['request']\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path / "cdk.out"))
    return tmp_path


def compiled(block: Block) -> Any:
    # Padded so a traceback's line numbers are the document's.
    return compile("\n" * block.line + block.code, str(block.path.relative_to(ROOT)), "exec")


def fail(block: Block, context: str, exc: BaseException) -> None:
    document = str(block.path.relative_to(ROOT))
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == document]
    at = f" at line {frames[-1].lineno}: {frames[-1].line}" if frames else ""
    pytest.fail(f"{block.where}: python block ({context}) failed{at}\n  {type(exc).__name__}: {exc}\n"
                f"Fix the snippet (complete imports, real names), or mark a fragment with "
                f"<!-- doc-test: context=... --> (see tests/test_docs_code_blocks.py).", pytrace=False)


def is_pulumi(code: str) -> bool:
    """A Pulumi program, unless it drives the mock engine itself (``preview.render``, ``check_program``):
    the SDK's ambient state allows one program at a time on a thread."""
    uses_pulumi = re.search(r"^\s*(import pulumi\b|from deploy_paradigms\.pulumi\b)", code, re.MULTILINE)
    drives_engine = re.search(r"\bpreview\.render|\brender_stack\(|\bcheck_program\(", code)
    return bool(uses_pulumi) and not drives_engine


# CDK blocks run in a Python process of their own, in the scratch directory: the jsii kernel resolves
# relative asset paths against the directory it started in, which in a test session is the repository.
CDK_RUNNER = """
import json, sys
import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
block = json.load(open(sys.argv[1]))
namespace = {"__name__": "__doc_block__"}
if block["context"] == "cdk-stack":
    app = cdk.App()
    stack = cdk.Stack(app, "DocStack", env=cdk.Environment(**block["env"]))
    namespace.update(app=app, self=stack, vpc=ec2.Vpc(stack, "Vpc", max_azs=2))
exec(compile("\\n" * block["line"] + block["code"], block["file"], "exec"), namespace)
apps = [v for v in namespace.values() if isinstance(v, cdk.App)]
for app in apps:
    app.synth()
sys.exit(0 if apps else 3)
"""


def is_cdk(block: Block) -> bool:
    return block.directive.get("context") == "cdk-stack" or bool(
        re.search(r"\baws_cdk\b|\bdeploy_paradigms\.cdk\b", block.code))


def run_cdk(block: Block, context: str) -> None:
    scratch = Path.cwd()
    (scratch / "run_block.py").write_text(CDK_RUNNER)
    (scratch / "block.json").write_text(json.dumps({
        "context": block.directive.get("context"), "env": ENV, "line": block.line, "code": block.code,
        "file": str(block.path.relative_to(ROOT))}))
    done = subprocess.run([sys.executable, "run_block.py", "block.json"], cwd=scratch, capture_output=True,
                          text=True, timeout=900, check=False)
    assert done.returncode != 3, (f"{block.where}: a CDK block must build a cdk.App "
                                  f"(or run in <!-- doc-test: context=cdk-stack -->)")
    if done.returncode != 0:
        lines = re.findall(rf'File "{re.escape(str(block.path.relative_to(ROOT)))}", line (\d+)', done.stderr)
        at = ""
        if lines:
            number = int(lines[-1])
            at = f" at line {number}: {block.code.splitlines()[number - block.line - 1].strip()}"
        error = [x for x in done.stderr.strip().splitlines() if x.strip()][-1:] or ["(no output)"]
        pytest.fail(f"{block.where}: python block ({context}) failed{at}\n  {error[0]}\n"
                    f"Fix the snippet (complete imports, real names), or mark a fragment with "
                    f"<!-- doc-test: context=... --> (see tests/test_docs_code_blocks.py).", pytrace=False)


def run_python(block: Block, namespace: dict[str, Any]) -> None:
    """Run ``block`` in its context: Pulumi code under the mock engine, CDK code synthesized."""
    from deploy_paradigms.pulumi import mock_engine
    from deploy_paradigms.pulumi.network import Network

    context = block.directive.get("context")

    def program() -> None:
        if context == "pulumi":
            namespace["network"] = Network("network")
        exec(compiled(block), namespace)  # noqa: S102 - the documented snippet, run on purpose

    if context == "pulumi" or is_pulumi(block.code):
        mock_engine.run_program(program)
    else:
        program()


@pytest.mark.parametrize("block", [b for b in PYTHON if b.directive.get("context") != "database-env"],
                         ids=str)
def test_python_block_runs(block: Block, scratch: Path) -> None:
    if "skip" in block.directive:
        pytest.skip(f"{block.where}: {block.directive['reason']}")
    namespace: dict[str, Any] = {"__name__": "__doc_block__"}
    context = block.directive.get("context") or ("pulumi program" if is_pulumi(block.code) else "complete")
    if is_cdk(block) and not is_pulumi(block.code):
        run_cdk(block, context)
        return
    failure: BaseException | None = None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            run_python(block, namespace)
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported with the block's place
        failure = exc
    if failure is not None:
        fail(block, context, failure)


@pytest.mark.postgres
@pytest.mark.parametrize("block", [b for b in PYTHON if b.directive.get("context") == "database-env"],
                         ids=str)
def test_client_block_runs_against_postgres(block: Block, postgres_server: Any,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from deploy_paradigms.budget import ConnectionLedger, describe_connection_limit, plan_containers
    from tests.conftest import point_runtime_at

    limit = describe_connection_limit("postgres", max_connections=postgres_server.max_connections)
    plan = plan_containers(limit, ConnectionLedger(limit).available, max_tasks=2, connections=8)
    point_runtime_at(postgres_server, monkeypatch, "sslmode=disable")
    scheme = block.directive.get("url-scheme", "postgresql")
    server = postgres_server
    env = {**plan.pool.environment(), "PGSSLMODE": "disable",
           "DATABASE_URL": f"{scheme}://{server.user}:{server.password}@{server.host}:{server.port}/{server.dbname}"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    namespace: dict[str, Any] = {"__name__": "__doc_block__"}
    failure: BaseException | None = None
    used: list[str] = []
    try:
        exec(compiled(block), namespace)  # noqa: S102
        used = list(exercise(namespace))
    except Exception as exc:  # noqa: BLE001 - reported with the block's place
        failure = exc
    if failure is not None:
        fail(block, "database-env", failure)
    assert used, f"{block.where}: left no engine, pool or handler to exercise"


def exercise(namespace: dict[str, Any]) -> Iterator[str]:
    """Ask every engine and pool the block made for ``select 1``; call its ``handler``."""
    for name, value in list(namespace.items()):
        if type(value).__name__ == "Engine" and hasattr(value, "connect"):
            import sqlalchemy

            with value.connect() as conn:
                assert conn.execute(sqlalchemy.text("select 1")).scalar() == 1
            value.dispose()
            yield name
        elif type(value).__name__ == "ConnectionPool" and hasattr(value, "connection"):
            with value.connection() as conn:
                assert conn.execute("select 1").fetchone()[0] == 1
            value.close()
            yield name
    handler = namespace.get("handler")
    if callable(handler):
        response = handler({}, None)
        assert response.get("statusCode") == 200, response
        yield "handler"


# -- shell --------------------------------------------------------------------------------------------

@cache
def make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w-]*):(?!=)", text, re.MULTILINE))


@cache
def cdk_stack_names() -> set[str]:
    from stacks.app import STACK_NAMES

    source = (ROOT / "stacks" / "app.py").read_text()
    ids = set(re.findall(r'\(app, "([\w-]+)"', source))
    return {*STACK_NAMES, *ids, "Edge-us-east-1"}  # Edge deploys its us-east-1 companion first


@cache
def stack_outputs() -> set[str]:
    from deploy_paradigms.pulumi.preview import render_stack
    from deploy_paradigms.pulumi.program import PARADIGMS

    return {key for paradigm in PARADIGMS for key in render_stack(paradigm).outputs}


def commands(code: str) -> Iterator[list[str]]:
    """Each simple command of a shell block, as words (continuations joined, pipes split)."""
    joined = re.sub(r"\\\n\s*", " ", code)
    for line in joined.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue  # bash -n has judged the syntax
        command: list[str] = []
        for word in [*words, ";"]:
            if word in ("|", "||", "&&", ";"):
                if command:
                    yield command
                command = []
            else:
                command.append(word)


def check_deploy_paradigms(block: Block, argv: list[str]) -> None:
    from deploy_paradigms import cli

    try:
        with contextlib.redirect_stderr(io.StringIO()) as err:
            cli.build_parser().parse_args(argv)
    except SystemExit:
        pytest.fail(f"{block.where}: `deploy-paradigms {shlex.join(argv)}` does not parse: "
                    f"{err.getvalue().strip()}", pytrace=False)
    if argv and argv[0] in ("budget", "preview"):  # offline: run them for real
        with contextlib.redirect_stdout(io.StringIO()) as out:
            code = cli.main(argv)
        assert code == 0, (f"{block.where}: `deploy-paradigms {shlex.join(argv)}` exited {code}: "
                           f"{out.getvalue()}")


@pytest.mark.parametrize("block", SHELL_BLOCKS, ids=str)
def test_shell_block_parses_and_names_what_exists(block: Block) -> None:
    if "skip" in block.directive:
        pytest.skip(f"{block.where}: {block.directive['reason']}")
    checked = subprocess.run(["bash", "-n"], input=block.code, text=True, capture_output=True, check=False)
    assert checked.returncode == 0, f"{block.where}: shell block does not parse: {checked.stderr}"
    pulumi_config: dict[str, str] = {}
    for words in commands(block.code):
        while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):  # VAR=value before a command
            words = words[1:]
        if not words:
            continue
        program, args = Path(words[0]).name, words[1:]
        if words[0] == "npx":
            program, args = (Path(args[0]).name, args[1:]) if args else ("npx", [])
        if program == "deploy-paradigms":
            check_deploy_paradigms(block, args)
        elif program == "make":
            targets = [a for a in args if "=" not in a and not a.startswith("-")]
            missing = [t for t in targets if t not in make_targets()]
            assert not missing, f"{block.where}: make target(s) {missing} not in the Makefile"
            stack = next((a.split("=", 1)[1] for a in args if a.startswith("STACK=")), None)
            assert stack is None or stack in cdk_stack_names(), f"{block.where}: no CDK stack {stack!r}"
        elif program == "cdk" and args and args[0] in ("synth", "deploy", "diff", "destroy"):
            names = [a for a in args[1:] if not a.startswith("-") and "=" not in a]
            unknown = [n for n in names if n not in cdk_stack_names()]
            assert not unknown, f"{block.where}: `cdk {args[0]}` names no stack of the example app: {unknown}"
        elif program == "pulumi":
            run_pulumi_command(block, args, pulumi_config)


def run_pulumi_command(block: Block, args: list[str], config: dict[str, str]) -> None:
    from deploy_paradigms.pulumi.preview import render_stack

    if args[:2] == ["config", "set"] and len(args) >= 4:
        config[args[2]] = args[3]
    elif args[:1] in (["up"], ["preview"]):
        paradigm = config.get("paradigm", "serverless")
        try:
            render_stack(paradigm, {k: v for k, v in config.items() if k != "paradigm"})
        except Exception as exc:  # noqa: BLE001 - reported with the block's place
            pytest.fail(f"{block.where}: `pulumi {args[0]}` with config {config} fails under the mock "
                        f"engine: {type(exc).__name__}: {exc}", pytrace=False)
    elif args[:2] == ["stack", "output"] and len(args) >= 3:
        assert args[2] in stack_outputs(), (
            f"{block.where}: `pulumi stack output {args[2]}`: the program exports no {args[2]!r} "
            f"(it exports {sorted(stack_outputs())})")


def test_the_shell_checks_can_fail() -> None:
    """The shell checks refuse what does not exist (so a passing block means something)."""
    bad = Block(ROOT / "README.md", 1, "bash", textwrap.dedent("""\
        deploy-paradigms preveiw serverless
        """))
    with pytest.raises(pytest.fail.Exception, match="does not parse"):
        test_shell_block_parses_and_names_what_exists(bad)
    for code, words in (("make synthesize", "make target"), ("cdk synth Nope", "names no stack"),
                        ("pulumi stack output nope", "exports no 'nope'")):
        with pytest.raises(AssertionError, match=words):
            test_shell_block_parses_and_names_what_exists(Block(ROOT / "README.md", 1, "bash", code))
    with pytest.raises(pytest.fail.Exception, match="bogusKey"):
        test_shell_block_parses_and_names_what_exists(Block(
            ROOT / "README.md", 1, "bash", "pulumi config set bogusKey 1\npulumi up\n"))


def test_a_fragment_fails_with_its_place_and_reason(scratch: Path) -> None:
    block = Block(ROOT / "docs" / "serverless.md", 40, "python",
                  "from deploy_paradigms.cdk import ServerlessFunction\nServerlessFunction(self, 'Api')\n")
    with pytest.raises(pytest.fail.Exception) as caught:
        test_python_block_runs(block, scratch)
    message = str(caught.value)
    assert "docs/serverless.md:40" in message and "line 42" in message and "NameError" in message, message

