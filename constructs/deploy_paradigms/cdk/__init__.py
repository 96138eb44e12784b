"""AWS CDK constructs (aws-cdk-lib)."""
