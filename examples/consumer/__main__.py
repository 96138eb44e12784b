"""Entry point of `pulumi up` (Pulumi.yaml has no `main`, so Pulumi runs this file)."""

from consumer_app.pulumi_program import program

program()
