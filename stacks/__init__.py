"""Example apps: CDK stacks ``Serverless``, ``Paas``, ``Edge`` (``python -m stacks.app``)
and the Pulumi program (``pulumi_program/``, run by ``Pulumi.yaml``)."""
