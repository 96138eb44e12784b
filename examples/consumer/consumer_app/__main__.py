"""``python -m consumer_app``: the CDK app (cdk.json runs this)."""

from .cdk_app import main

main()
