"""Where in-process synth time goes, in a fresh interpreter: ``python -m bench.synth_profile [variant]``.

Prints one JSON object. Phases: importing aws_cdk (starts the jsii node process and
loads aws-cdk-lib), importing the example stacks (cdk-nag, the constructs), building the
construct tree (``build_app``), and ``app.synth()`` (validation plugins, asset staging,
template rendering). Counted along the way: constructs per stack, jsii kernel round trips
by kind, calls and time of our packaging functions, the assets staged into the cloud
assembly.

Variants (each in its own interpreter, same context as ``cdk synth``):
``full`` as the CLI runs it; ``no-nag`` without the cdk-nag validation plugin;
``no-cfn-validate`` without aws-cdk-lib's built-in CloudFormation validation (it runs on
every synth since 2.262, whatever ``@aws-cdk/core:validateAgainstDefaultRules`` says: the
flag only decides whether findings are errors; ``CDK_VALIDATION=false`` in the Node
process turns it off); ``empty`` one empty ``Stack`` and no context, the floor.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

VARIANTS = ("full", "no-nag", "no-cfn-validate", "empty")
KERNEL_METHODS = ("create", "delete", "get", "set", "sget", "sset", "invoke", "sinvoke", "ainvoke",
                  "sainvoke")


class Counter:
    """Calls and inclusive wall time per name (a name's recursive calls are counted once)."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._depth: dict[str, int] = {}

    def wrap(self, name: str, fn: Callable[..., Any],
             key: Callable[..., str] | None = None) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            label = key(*args, **kwargs) if key else name
            self.calls[label] = self.calls.get(label, 0) + 1
            self._depth[label] = self._depth.get(label, 0) + 1
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth[label] -= 1
                if self._depth[label] == 0:
                    self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started

        return wrapper

    def as_dict(self) -> dict[str, Any]:
        return {name: {"calls": self.calls[name], "s": round(self.seconds.get(name, 0.0), 3)}
                for name in sorted(self.calls)}


def _directory_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def profile(variant: str) -> dict[str, Any]:
    if variant not in VARIANTS:
        raise SystemExit(f"variant must be one of {', '.join(VARIANTS)}")
    timings: dict[str, float] = {}
    if variant == "no-cfn-validate":
        os.environ["CDK_VALIDATION"] = "false"  # read by aws-cdk-lib in the Node process jsii starts next
    t = time.perf_counter()
    import jsii  # before aws_cdk: generated bindings call jsii.create/invoke/get... at call time
    import jsii._kernel as kernel_module

    jsii_calls = Counter()
    for method in KERNEL_METHODS:
        original = getattr(jsii, method, None)
        if original is not None:
            setattr(jsii, method, jsii_calls.wrap(method, original))
    # Node calling back into Python (overridden methods, Python-implemented interfaces).
    callbacks = Counter()

    def _callback_name(kernel: Any, callback: Any) -> str:
        if callback.invoke:
            try:
                obj = kernel_module._reference_map.resolve_id(callback.invoke.objref.ref)  # type: ignore[attr-defined]
                owner = f"{type(obj).__module__}.{type(obj).__qualname__}"
            except Exception:
                owner = "?"
            return f"invoke {owner}.{callback.cookie}"
        return "get" if callback.get else "set"

    kernel_module._handle_callback = callbacks.wrap(
        "callback", kernel_module._handle_callback, key=_callback_name)
    import aws_cdk as cdk

    timings["import_aws_cdk"] = time.perf_counter() - t
    if variant == "empty":
        return _measure(variant, timings, jsii_calls, callbacks, Counter(), {},
                        lambda app: cdk.Stack(app, "Empty"))

    t = time.perf_counter()
    import stacks.app as example_app
    from deploy_paradigms import packaging  # one module object: every `packaging.x` lookup sees the wrappers
    from tests.conftest import cdk_json_context

    timings["import_stacks_and_cdk_nag"] = time.perf_counter() - t

    ours = Counter()
    for name in ("lambda_bundle", "container_context", "zipped_size", "bundle_files", "container_files",
                 "dependency_files"):
        setattr(packaging, name, ours.wrap(name, getattr(packaging, name)))

    context = cdk_json_context()
    if variant == "no-nag":
        class _NoNag:
            def __init__(self, app: Any) -> None:
                self.app = app

        real_of = cdk.Validations.of

        class _Plugins:
            def __init__(self, inner: Any) -> None:
                self._inner = inner

            def add_plugins(self, *plugins: Any) -> None:
                if not all(isinstance(p, _NoNag) for p in plugins):
                    self._inner.add_plugins(*plugins)

            def __getattr__(self, name: str) -> Any:
                return getattr(self._inner, name)

        setattr(example_app, "AwsSolutionsChecks", _NoNag)  # noqa: B010 (a module attribute on purpose)
        cdk.Validations.of = staticmethod(lambda scope: _Plugins(real_of(scope)))  # type: ignore[method-assign,assignment]

    return _measure(variant, timings, jsii_calls, callbacks, ours, context, example_app.build_app)


def _measure(variant: str, timings: dict[str, float], jsii_calls: Counter, callbacks: Counter, ours: Counter,
             context: dict[str, Any], build: Callable[[Any], Any]) -> dict[str, Any]:
    """Build and synthesize the app in a temporary directory; the report."""
    import aws_cdk as cdk

    outdir = Path(tempfile.mkdtemp(prefix="dp-synth-profile-"))
    try:
        t = time.perf_counter()
        app = cdk.App(outdir=str(outdir), context=context, analytics_reporting=False)
        timings["create_app"] = time.perf_counter() - t
        t = time.perf_counter()
        build(app)
        timings["build_app"] = time.perf_counter() - t
        constructs = {child.node.id: len(child.node.find_all()) for child in app.node.children
                      if isinstance(child, cdk.Stack)}
        total_constructs = len(app.node.find_all())
        jsii_before_synth = sum(jsii_calls.calls.values())
        t = time.perf_counter()
        app.synth()
        timings["synth"] = time.perf_counter() - t
        assets = sorted(p for p in outdir.iterdir() if p.name.startswith("asset."))
        staged = {"count": len(assets), "bytes": sum(_directory_bytes(p) if p.is_dir() else p.stat().st_size
                                                     for p in assets)}
        templates = {p.name: p.stat().st_size for p in sorted(outdir.glob("*.template.json"))}
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    return {
        "variant": variant,
        "seconds": {k: round(v, 3) for k, v in timings.items()},
        "constructs": {"total": total_constructs, "per_stack": constructs},
        "jsii_calls": {"total": sum(jsii_calls.calls.values()), "before_synth": jsii_before_synth,
                       "by_method": jsii_calls.as_dict()},
        "python_callbacks_from_node": {"total": sum(callbacks.calls.values()),
                                       "s": round(sum(callbacks.seconds.values()), 3),
                                       "by_name": callbacks.as_dict()},
        "packaging_calls": ours.as_dict(),
        "assets_staged": staged,
        "template_bytes": templates,
        "pid": os.getpid(),
    }


def main() -> None:
    variant = sys.argv[1] if len(sys.argv) > 1 else "full"
    print(json.dumps(profile(variant)))


if __name__ == "__main__":
    main()
