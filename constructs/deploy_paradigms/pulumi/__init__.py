"""Pulumi components (pulumi-aws)."""
