"""The public API, pinned: what each package exports, that every export is documented, and
that the CDK constructs and the Pulumi components take the same inputs.

* Every package has an ``__all__`` (sorted plainly or in isort's constants / classes /
  functions order), every name in it resolves, and nothing defined in the package is
  reachable from it without being listed.
* Every exported class and function has a docstring of its own; the classes of
  ``deploy_paradigms.cdk`` and ``deploy_paradigms.pulumi`` also document their public
  methods and properties.
* Every constructor input is documented where a user looks for it, in the style the
  package uses: ``:param name:`` lines (several names may share one entry,
  ``:param a, b:``) in the CDK constructs and their methods, and an ``Attributes:``
  section (``name:``, ``a / b:``, ``a, b:``) in the Pulumi ``*Args`` dataclasses. An
  input with a default must say what happens when it is omitted (the entry mentions
  "omit..." or "default").
* The CDK and Pulumi packages export the same constructs, and a construct takes the same
  inputs in both, except for the framework-specific ones listed below, each with its
  reason. A new input on one side fails here until the other side gets it too or it is
  listed.

Import and inspection only, no synth: under two seconds on its own, most of it importing
aws-cdk-lib.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_DIR = ROOT / "constructs" / "deploy_paradigms"

#: Every package (directory with ``__init__.py``) of deploy_paradigms: a new one fails
#: ``test_every_package_is_listed`` until it is added here, and so gets a curated ``__all__``.
PACKAGES = (
    "deploy_paradigms",
    "deploy_paradigms.budget",
    "deploy_paradigms.cdk",
    "deploy_paradigms.guard",
    "deploy_paradigms.guard.rules",
    "deploy_paradigms.plans",
    "deploy_paradigms.pulumi",
    "deploy_paradigms.pulumi.examples",
    "deploy_paradigms.runtime",
)

#: The constructs, by the name both frameworks export them under.
CONSTRUCTS = ("BudgetGuard", "ChangeStream", "ContainerService", "DataEndpoint", "Database",
              "DatabaseMigrations", "EdgeFunction", "ServerlessFunction")

#: Exports both packages share that are not constructs: name -> what it is.
SHARED_EXPORTS = {
    "FunctionOptions": "the framework-free options of a function (plans.serverless): "
                       "ServerlessFunction(options=), DataEndpoint(function=)",
}

#: Pulumi-only exports besides the ``<Construct>Args`` classes: name -> why CDK has no twin.
PULUMI_ONLY_EXPORTS = {
    "Network": "CDK apps bring aws-cdk-lib's ec2.Vpc construct; pulumi-aws has no such component",
    "NetworkArgs": "the inputs of Network",
    "ExistingNetwork": "a VPC made elsewhere; CDK imports one with ec2.Vpc.from_lookup and friends",
    "NetworkLike": "the protocol Network and ExistingNetwork share (typing only)",
    "ExistingDatabaseArgs": "the inputs of Database.from_existing, which CDK takes as keywords only",
    "budget_guard_transform": "Pulumi guards a running program with a stack transform; CDK: BudgetGuard.of",
    "check_program": "no synth step to hook in Pulumi: checks a program offline under the preview mocks",
    "check_resources": "the same check over preview records; CDK's plugin reads the synthesized templates",
}

#: Parameters the frameworks define (construct scope and id; Pulumi name, args and resource
#: options): documented by aws-cdk-lib and Pulumi, never compared.
FRAMEWORK_PARAMETERS = frozenset({"self", "cls", "scope", "id", "name", "args", "opts"})

# ----------------------------------------------------------------------------------------------
# CDK <-> Pulumi input parity: the documented differences. Every entry must still be true (a
# stale entry fails), and every reason fits on one line.

_SUBNETS = "an ec2.SubnetSelection in CDK; subnet ids in Pulumi"
_RETENTION = "a logs.RetentionDays in CDK; a number of days in Pulumi"
_SECURITY_GROUP = "an ec2.ISecurityGroup in CDK; its id in Pulumi"
_NETWORK = "an ec2.IVpc in CDK; a Network or ExistingNetwork (ids only) in Pulumi"

#: Same input, named after each framework's types: CDK takes constructs and enums, Pulumi takes
#: ids, ARNs and plain values. {construct: {(cdk name, pulumi name): reason}}
RENAMED: dict[str, dict[tuple[str, str], str]] = {
    "Database": {
        ("vpc", "network"): _NETWORK,
        ("vpc_subnets", "subnet_tier"):
            "an ec2.SubnetSelection in CDK; a tier of the Network's subnets in Pulumi",
        ("log_retention", "log_retention_days"): _RETENTION,
        ("storage_encryption_key", "kms_key_id"): "a kms.IKey in CDK; its ARN or id in Pulumi",
    },
    "Database.from_existing": {
        ("vpc", "network"): _NETWORK,
        ("secret", "secret_arn"): "a secretsmanager.ISecret in CDK; its ARN in Pulumi",
        ("security_group", "security_group_id"): _SECURITY_GROUP,
        ("instance_resource_id", "resource_id"):
            "each framework's attribute name (instanceResourceId / resourceId)",
    },
    "DatabaseMigrations": {
        ("vpc_subnets", "subnet_ids"): _SUBNETS,
        ("log_retention", "log_retention_days"): _RETENTION,
    },
    "ServerlessFunction": {
        ("vpc_subnets", "subnet_ids"): _SUBNETS,
        ("proxy_security_group", "proxy_security_group_id"): _SECURITY_GROUP,
        ("log_retention", "log_retention_days"): _RETENTION,
    },
    "DataEndpoint": {
        ("hmac_secret", "hmac_secret_arn"): "a secretsmanager.ISecret in CDK; its ARN in Pulumi",
        ("vpc_subnets", "subnet_ids"): _SUBNETS,
        ("proxy_security_group", "proxy_security_group_id"): _SECURITY_GROUP,
    },
    "ContainerService": {
        ("certificate", "certificate_arn"): "an acm.ICertificate in CDK; its ARN in Pulumi",
        ("cluster", "cluster_arn"): "an ecs.ICluster in CDK; its ARN in Pulumi",
        ("vpc_subnets", "subnet_ids"): _SUBNETS,
        ("log_retention", "log_retention_days"): _RETENTION,
    },
    "EdgeFunction": {
        ("certificate", "acm_certificate_arn"): "an acm.ICertificate in CDK; its ARN in Pulumi",
        ("default_cache_policy", "default_cache_policy_id"):
            "a cloudfront.ICachePolicy in CDK; its id in Pulumi",
        ("domain_names", "aliases"): "each framework's Distribution property (domainNames / aliases)",
        ("log_bucket", "log_bucket_domain_name"): "an s3.IBucket in CDK; its domain name in Pulumi",
        ("vpc", "vpc_config"): "refused on both; named after each framework's Lambda function property",
        ("support_stack_id", "edge_provider"):
            "how each reaches us-east-1: a CDK support stack, a Pulumi provider",
    },
    "BudgetGuard": {},
    "ChangeStream": {
        ("event_bus", "event_bus_name"): "an events.IEventBus in CDK; its name in Pulumi",
        ("log_retention", "log_retention_days"): _RETENTION,
    },
}

#: Inputs only the CDK construct takes. {construct: {name: reason}}
CDK_ONLY: dict[str, dict[str, str]] = {
    "DatabaseMigrations": {
        "run_before": "the trigger's DependsOn in CDK; Pulumi consumers take depends_on=[migrations]",
    },
    "Database": {
        "removal_policy":
            "CloudFormation's DeletionPolicy; Pulumi always takes a final snapshot (opts retain/protect)",
    },
    "Database.from_existing": {
        "engine_version": "aws-cdk's imported instance needs an engine object for the proxy target",
    },
}

#: Inputs only the Pulumi component takes. {construct: {name: reason}}
PULUMI_ONLY: dict[str, dict[str, str]] = {
    "Database": {
        "acknowledge_short_backup_retention":
            "CDK refuses backups under 7 days outright; Pulumi allows them with this acknowledgement",
        "acknowledge_no_deletion_protection":
            "deprecated Pulumi alias of deletion_protection_reason, kept for existing programs",
        "identifier": "physical name: Pulumi sets it so the log groups exist first; CloudFormation names it",
        "final_snapshot_identifier":
            "physical name: Pulumi must name the final snapshot; CloudFormation names it in CDK",
        "parameter_group_family":
            "Pulumi creates the parameter group by family; CDK derives it from the engine object",
    },
    "Database.from_existing": {
        "max_acu": "not in CDK yet: CDK adopts provisioned RDS instances only",
        "cluster_identifier": "not in CDK yet: CDK adopts RDS instances, not Aurora clusters",
        "iam_authentication":
            "recorded on the Pulumi component for callers; CDK consumers use IAM auth at the proxy",
    },
    "ContainerService": {
        "ecr_repository_arn": "CDK's ecs.ContainerImage grants its own pull; a Pulumi image is just a URI",
        "load_balancer_subnet_ids": "not in CDK: aws-ecs-patterns puts the ALB in the VPC's public subnets",
    },
}

#: Pulumi-only inputs of every component that has them: {name: reason}.
PULUMI_EVERYWHERE = {
    "tags": "CDK tags a construct and all its children with cdk.Tags.of(construct).add(key, value)",
}


# ---------------------------------------------------------------------------------------------- helpers


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


#: Plain modules that curate an ``__all__`` of their own (packages are covered by PACKAGES).
MODULES_WITH_ALL = tuple(sorted(
    _module_name(path) for path in PACKAGE_DIR.rglob("*.py")
    if path.name != "__init__.py" and re.search(r"^__all__\b", path.read_text(), re.MULTILINE)))


def _isort_key(name: str) -> tuple[int, str]:
    """isort's (and ruff RUF022's) order: CONSTANTS, then Classes, then functions."""
    return (0 if name.isupper() else 1 if name[:1].isupper() else 2, name)


def _own_doc(obj: Any) -> str:
    """The docstring written for ``obj`` itself: not inherited, not dataclass-generated."""
    doc = vars(obj).get("__doc__") if inspect.isclass(obj) else getattr(obj, "__doc__", None)
    if not doc:
        return ""
    if inspect.isclass(obj) and dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("):
        return ""  # what @dataclass writes when the class has none
    return str(doc)


def _entries(doc: str) -> Iterator[tuple[list[str], str]]:
    """``(names, text)`` of each documented input in ``doc``.

    Two styles, as the package writes them:

    * ``:param name: text`` (the CDK constructs, the guards), names may be a comma-separated
      list and run on over indented lines until the colon;
    * an ``Attributes:``/``Args:`` section (the Pulumi ``*Args`` dataclasses): one entry per
      line at the section's indentation, continued on deeper lines; the term before the first
      ``": "`` names the inputs, separated by ``,`` or ``/``, with ``(default)`` notes dropped.
    """
    lines = inspect.cleandoc(doc).splitlines()
    # :param entries: the line and its deeper-indented continuation lines.
    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if not line.lstrip().startswith(":param "):
            continue
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        while index < len(lines) and lines[index].strip() and (
                len(lines[index]) - len(lines[index].lstrip())) > indent:
            text += " " + lines[index].strip()
            index += 1
        match = re.match(r":param\s+(.+?):(?:\s|$)(.*)", text)
        if match:
            yield _names(match.group(1)), match.group(2)
    # Google-style sections.
    for start, line in enumerate(lines):
        if line.strip() not in ("Attributes:", "Args:"):
            continue
        section_indent = len(line) - len(line.lstrip())
        entries: list[str] = []
        base: int | None = None
        for item in lines[start + 1:]:
            if not item.strip():
                continue
            indent = len(item) - len(item.lstrip())
            if indent <= section_indent:
                break
            if base is None:
                base = indent
            if indent < base:
                break
            if indent == base or not entries:
                entries.append(item.strip())
            else:
                entries[-1] += " " + item.strip()
        for entry in entries:
            match = re.match(r"(.+?):(?:\s|$)(.*)", entry)
            if match:
                yield _names(re.sub(r"\([^)]*\)", "", match.group(1))), match.group(2)


def _names(term: str) -> list[str]:
    return [name.strip() for name in re.split(r"[,/]", term) if name.strip()]


def documented(*docs: str) -> dict[str, str]:
    """Input name -> its documentation, over several docstrings (the first entry wins)."""
    found: dict[str, str] = {}
    for doc in docs:
        for names, text in _entries(doc):
            for name in names:
                found.setdefault(name, text)
    return found


def _describes_omission(text: str) -> bool:
    return re.search(r"\bomit|\bdefault", text, re.IGNORECASE) is not None


def _user_parameters(function: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """Inputs of a constructor a user passes, by name: no framework parameters, no ``_private``."""
    return {name: p for name, p in inspect.signature(function).parameters.items()
            if name not in FRAMEWORK_PARAMETERS and not name.startswith("_")
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _fields(args_class: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(args_class)}


def _has_default(field: dataclasses.Field[Any]) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


def _alternate_constructors(cls: type) -> Iterator[tuple[str, Callable[..., Any]]]:
    """Public classmethods and staticmethods (``from_existing``, ``of``): other ways to build one."""
    for name, member in vars(cls).items():
        if not name.startswith("_") and isinstance(member, classmethod | staticmethod):
            yield name, getattr(cls, name)


def _referenced_classes(doc: str, namespace: types.ModuleType) -> list[type]:
    """Classes of ``namespace`` a docstring points to with ``:class:`Name``` (where its inputs
    are documented, e.g. ``Database.from_existing`` -> ``ExistingDatabaseArgs``)."""
    names = re.findall(r":class:`~?(?:[\w.]+\.)?(\w+)`", doc)
    return [getattr(namespace, n) for n in names if inspect.isclass(getattr(namespace, n, None))]


# ---------------------------------------------------------------------------------------------- exports


def test_every_package_is_listed() -> None:
    found = {_module_name(init) for init in PACKAGE_DIR.rglob("__init__.py")}
    assert found == set(PACKAGES), "a package was added or removed: update PACKAGES (and its __all__)"


@pytest.mark.parametrize("module_name", PACKAGES + MODULES_WITH_ALL)
def test_all_is_curated_and_resolves(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    assert isinstance(exported, list | tuple), f"{module_name} has no __all__"
    assert all(isinstance(name, str) for name in exported), module_name
    assert len(set(exported)) == len(exported), f"{module_name}.__all__ lists a name twice"
    assert list(exported) in (sorted(exported), sorted(exported, key=_isort_key)), (
        f"{module_name}.__all__ is neither sorted nor in isort order (CONSTANTS, Classes, functions): "
        f"{sorted(exported, key=_isort_key)}")
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what the module does not have: {missing}"


@pytest.mark.parametrize("package", PACKAGES)
def test_nothing_public_leaks(package: str) -> None:
    """A public-looking name in a package is either in its ``__all__``, a submodule, or an
    import from outside deploy_paradigms used for annotations (``Any``, ``Mapping``)."""
    module = importlib.import_module(package)
    exported = set(module.__all__)
    leaks = []
    for name, value in vars(module).items():
        if name.startswith("_") or name in exported or name == "TYPE_CHECKING":
            continue
        if isinstance(value, types.ModuleType):
            continue
        origin = getattr(value, "__module__", None)
        if isinstance(origin, str) and not origin.startswith("deploy_paradigms"):
            continue  # typing helpers, __future__ features, stdlib ABCs
        leaks.append(name)
    assert not leaks, f"{package} exposes {leaks} without listing them in __all__ (rename to _name or export)"


def test_cdk_and_pulumi_export_the_same_constructs() -> None:
    cdk = importlib.import_module("deploy_paradigms.cdk")
    pulumi = importlib.import_module("deploy_paradigms.pulumi")
    assert sorted(cdk.__all__) == sorted((*CONSTRUCTS, *SHARED_EXPORTS))
    component_args = {f"{name}Args" for name in CONSTRUCTS if hasattr(pulumi, f"{name}Args")}
    assert component_args == {f"{name}Args" for name in CONSTRUCTS if name != "BudgetGuard"}
    shared = set(SHARED_EXPORTS)
    assert set(pulumi.__all__) == set(CONSTRUCTS) | component_args | set(PULUMI_ONLY_EXPORTS) | shared, (
        "a Pulumi-only export needs a reason in PULUMI_ONLY_EXPORTS (or a CDK twin)")


# ---------------------------------------------------------------------------------------------- docstrings


@pytest.mark.parametrize("module_name", PACKAGES + MODULES_WITH_ALL)
def test_every_export_has_a_docstring(module_name: str) -> None:
    module = importlib.import_module(module_name)
    undocumented = [name for name in module.__all__
                    if (inspect.isclass(getattr(module, name)) or inspect.isfunction(getattr(module, name)))
                    and not _own_doc(getattr(module, name)).strip()]
    assert not undocumented, f"{module_name}: no docstring on {undocumented}"


@pytest.mark.parametrize("package", ["deploy_paradigms.cdk", "deploy_paradigms.pulumi"])
def test_construct_methods_have_docstrings(package: str) -> None:
    module = importlib.import_module(package)
    undocumented = []
    for class_name in module.__all__:
        cls = getattr(module, class_name)
        if not inspect.isclass(cls):
            continue
        for name, member in vars(cls).items():
            if name.startswith("_"):
                continue
            function = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
            if inspect.isfunction(function) and not (function.__doc__ or "").strip():
                undocumented.append(f"{class_name}.{name}")
    assert not undocumented, f"{package}: no docstring on {undocumented}"


def _cdk_constructors() -> Iterator[tuple[str, Callable[..., Any], list[str]]]:
    """(label, constructor, docstrings where its inputs are documented) of every CDK construct."""
    cdk = importlib.import_module("deploy_paradigms.cdk")
    for name in CONSTRUCTS:
        cls = getattr(cdk, name)
        yield name, cls.__init__, [_own_doc(cls), cls.__init__.__doc__ or ""]
        for method_name, method in _alternate_constructors(cls):
            yield f"{name}.{method_name}", method, [method.__doc__ or "", _own_doc(cls)]


def _pulumi_constructors() -> Iterator[tuple[str, Callable[..., Any], list[str]]]:
    """The same for the Pulumi package; a component's inputs are its ``*Args`` fields (below)."""
    pulumi = importlib.import_module("deploy_paradigms.pulumi")
    for name in pulumi.__all__:
        cls = getattr(pulumi, name)
        if not inspect.isclass(cls) or dataclasses.is_dataclass(cls) or name == "NetworkLike":
            continue
        yield name, cls.__init__, [_own_doc(cls), cls.__init__.__doc__ or ""]
        for method_name, method in _alternate_constructors(cls):
            doc = method.__doc__ or ""
            # The class's own "Attributes:" are its outputs, so it comes last.
            yield (f"{name}.{method_name}", method,
                   [doc, *(_own_doc(c) for c in _referenced_classes(doc, pulumi)), _own_doc(cls)])


def _args_classes() -> list[type]:
    pulumi = importlib.import_module("deploy_paradigms.pulumi")
    return [getattr(pulumi, n) for n in pulumi.__all__ if dataclasses.is_dataclass(getattr(pulumi, n))]


def test_constructor_inputs_are_documented() -> None:
    problems = []
    for label, constructor, docs in [*_cdk_constructors(), *_pulumi_constructors()]:
        entries = documented(*docs)
        for name, parameter in _user_parameters(constructor).items():
            if name not in entries:
                problems.append(f"{label}: {name} is not documented")
            elif parameter.default is not parameter.empty and not _describes_omission(entries[name]):
                problems.append(f"{label}: {name} does not say what happens when it is omitted")
    assert not problems, "\n".join(problems)


def test_pulumi_args_fields_are_documented() -> None:
    problems = []
    for args_class in _args_classes():
        entries = documented(_own_doc(args_class))
        for name, field in _fields(args_class).items():
            if name not in entries:
                problems.append(f"{args_class.__name__}: {name} is not documented")
            elif _has_default(field) and not _describes_omission(entries[name]):
                problems.append(f"{args_class.__name__}: {name} does not say what happens when it is omitted")
        stale = sorted(set(entries) - set(_fields(args_class)))
        if stale:
            problems.append(f"{args_class.__name__}: documents inputs it does not have: {stale}")
    assert not problems, "\n".join(problems)


def test_cdk_docstrings_document_only_real_inputs() -> None:
    """A renamed or removed input must not stay documented (the class docstring documents
    ``__init__``, an alternate constructor's own docstring documents it)."""
    cdk = importlib.import_module("deploy_paradigms.cdk")
    stale = []
    for name in CONSTRUCTS:
        cls = getattr(cdk, name)
        constructors = [(name, cls.__init__, _own_doc(cls) + (cls.__init__.__doc__ or ""))]
        constructors += [(f"{name}.{m}", method, method.__doc__ or "")
                         for m, method in _alternate_constructors(cls)]
        for label, constructor, doc in constructors:
            extra = sorted(set(documented(doc)) - set(_user_parameters(constructor)))
            if extra:
                stale.append(f"{label}: {extra}")
    assert not stale, f"docstrings name inputs the constructor does not take: {stale}"


def test_the_parser_reads_both_styles() -> None:
    """The checks above are only as good as the parser: both styles, multi-line terms."""
    sphinx = """Summary.

    :param a: first; default 1.
    :param b, c,
        d: shared; omitted, nothing.
    """
    google = """Summary.

    Attributes:
        x: the x. Omitted: 0.
        y / z: a pair,
            over two lines.
        p, q (512), r
            (3): several: with a colon.
    """
    assert documented(sphinx) == {"a": "first; default 1.", "b": "shared; omitted, nothing.",
                                  "c": "shared; omitted, nothing.", "d": "shared; omitted, nothing."}
    found = documented(google)
    assert sorted(found) == ["p", "q", "r", "x", "y", "z"]
    assert found["y"] == "a pair, over two lines." and found["r"] == "several: with a colon."
    assert not _describes_omission(found["y"]) and _describes_omission(found["x"])


# ---------------------------------------------------------------------------------------------- parity


def _parity_pairs() -> Iterator[tuple[str, set[str], set[str]]]:
    """(construct, CDK inputs, Pulumi inputs) for every construct and alternate constructor."""
    cdk = importlib.import_module("deploy_paradigms.cdk")
    pulumi = importlib.import_module("deploy_paradigms.pulumi")
    for name in CONSTRUCTS:
        cdk_inputs = set(_user_parameters(getattr(cdk, name).__init__))
        args_class = getattr(pulumi, f"{name}Args", None)
        pulumi_inputs = (set(_fields(args_class)) if args_class is not None
                         else set(_user_parameters(getattr(pulumi, name).__init__)))
        yield name, cdk_inputs, pulumi_inputs
    yield ("Database.from_existing", set(_user_parameters(cdk.Database.from_existing)),
           set(_user_parameters(pulumi.Database.from_existing)))


def test_pulumi_components_take_name_args_opts() -> None:
    pulumi = importlib.import_module("deploy_paradigms.pulumi")
    for name in (*CONSTRUCTS, "Network"):
        if name == "BudgetGuard":
            continue
        parameters = list(inspect.signature(getattr(pulumi, name).__init__).parameters)
        assert parameters == ["self", "name", "args", "opts"], f"{name}: {parameters}"


@pytest.mark.parametrize("construct", [*CONSTRUCTS, "Database.from_existing"])
def test_cdk_and_pulumi_take_the_same_inputs(construct: str) -> None:
    _, cdk_inputs, pulumi_inputs = next(p for p in _parity_pairs() if p[0] == construct)
    renamed = RENAMED.get(construct, {})
    cdk_only = CDK_ONLY.get(construct, {})
    pulumi_only = {**PULUMI_ONLY.get(construct, {}),
                   **{k: v for k, v in PULUMI_EVERYWHERE.items() if k in pulumi_inputs}}
    # Every allow-list entry must still describe the code.
    listed_cdk = {c for c, _ in renamed} | set(cdk_only)
    listed_pulumi = {p for _, p in renamed} | set(pulumi_only)
    assert listed_cdk <= cdk_inputs, f"stale CDK entries for {construct}: {sorted(listed_cdk - cdk_inputs)}"
    assert listed_pulumi <= pulumi_inputs, (
        f"stale Pulumi entries for {construct}: {sorted(listed_pulumi - pulumi_inputs)}")
    assert not (listed_cdk & pulumi_inputs) and not (listed_pulumi & cdk_inputs), (
        f"{construct}: an allow-listed input exists on both sides; drop it from the lists")
    only_cdk = sorted(cdk_inputs - pulumi_inputs - listed_cdk)
    only_pulumi = sorted(pulumi_inputs - cdk_inputs - listed_pulumi)
    assert not only_cdk and not only_pulumi, (
        f"{construct}: CDK-only {only_cdk}, Pulumi-only {only_pulumi}; add the input to the other "
        f"framework, or list it in RENAMED / CDK_ONLY / PULUMI_ONLY with a one-line reason")


def test_every_reason_is_one_specific_line() -> None:
    tables: list[dict[Any, str]] = [PULUMI_ONLY_EXPORTS, PULUMI_EVERYWHERE, *CDK_ONLY.values(),
                                    *PULUMI_ONLY.values(), *RENAMED.values()]
    reasons = [reason for table in tables for reason in table.values()]
    assert all("\n" not in r and 20 <= len(r) <= 110 for r in reasons), [
        r for r in reasons if "\n" in r or not 20 <= len(r) <= 110]


# ---------------------------------------------------------------------------------------------- version


def test_version_is_the_same_everywhere() -> None:
    """pyproject.toml, ``deploy_paradigms.__version__`` (baked into every bundle) and the
    CHANGELOG name the same version; see docs/reviewing.md, "Versioning"."""
    import tomllib

    from deploy_paradigms import __version__

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == __version__
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog and f"## [{__version__}]" in changelog
