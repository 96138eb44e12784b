"""A repository that uses deploy-paradigms from its wheel: a CDK app and a Pulumi program."""
