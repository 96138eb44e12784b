"""Code that runs inside the Lambda functions and containers (no CDK/Pulumi import)."""
