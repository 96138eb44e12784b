"""The CDK app of the examples: ``cdk synth Serverless|Paas|Edge|Changes`` (see README).

cdk.json runs it as a module (``python -m stacks.app``), so no folder on the
import path can shadow a dependency.
"""

from __future__ import annotations

import os
import sys

# Node 20 (what these machines have) is past end of life; jsii's banner says so on
# every synth. Silenced here, before aws_cdk starts its Node process; upgrade Node
# to 22+ to drop this.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks  # noqa: E402

from deploy_paradigms.budget import BudgetError, parse_engine  # noqa: E402
from deploy_paradigms.cdk import BudgetGuard  # noqa: E402

STACK_NAMES = ("Serverless", "Paas", "Edge", "Changes")


def build_app(app: cdk.App | None = None, *, stacks: tuple[str, ...] = STACK_NAMES) -> cdk.App:
    """The example stacks (all, or the ones named) in one app, checked by cdk-nag's AWS Solutions
    rules and deploy-paradigms' BudgetGuard at synth."""
    unknown = sorted(set(stacks) - set(STACK_NAMES))
    if unknown:
        raise BudgetError(f"unknown example stack(s) {unknown}; choose from {', '.join(STACK_NAMES)}")
    app = app or cdk.App()
    # An explicit Region: Lambda@Edge needs one, and pinning it in cdk.json (not the
    # CLI's ambient CDK_DEFAULT_REGION) keeps templates the same on every machine.
    # Override with `-c region=...`.
    region = app.node.try_get_context("region") or os.environ.get("CDK_DEFAULT_REGION") or "eu-west-1"
    env = cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=region)
    if "Serverless" in stacks:
        from stacks.serverless import ServerlessStack

        ServerlessStack(app, "Serverless", env=env)
    if "Paas" in stacks:
        from stacks.paas import PaasStack

        PaasStack(app, "Paas", env=env)
    if "Edge" in stacks:
        from stacks.edge import EdgeStack

        EdgeStack(app, "Edge", env=env)
    # Change streams read PostgreSQL logical replication: with a MySQL-family engine the
    # Changes example is left out of the app (ChangeStream itself refuses those engines).
    engine = parse_engine(str(app.node.try_get_context("engine") or "postgres"))
    if "Changes" in stacks and engine.is_postgres:
        from stacks.changes import ChangesStack

        ChangesStack(app, "Changes", env=env)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    BudgetGuard.of(app)  # the connection-budget rules, as users would apply them to their apps
    return app


def main() -> None:
    try:
        build_app().synth()
    except BudgetError as err:  # bad input: one clear line, no trace, no template
        print(f"deploy-paradigms: error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
