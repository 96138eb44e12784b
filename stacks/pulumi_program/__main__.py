"""Entry point of `pulumi up` (Pulumi.yaml `main: stacks/pulumi_program/`); the program is in the package."""
from deploy_paradigms.pulumi.program import run

run()
