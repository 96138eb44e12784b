"""deploy-paradigms: connection-budget-aware AWS constructs for database-backed apps.

Three deployment paradigms, each one construct in AWS CDK
(:mod:`deploy_paradigms.cdk`) and in Pulumi (:mod:`deploy_paradigms.pulumi`),
both fed by the framework-free planner in :mod:`deploy_paradigms.budget`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
