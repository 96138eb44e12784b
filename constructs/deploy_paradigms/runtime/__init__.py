"""Code that runs inside the Lambda functions and containers (no CDK/Pulumi import).

Nothing is exported from the package itself: handlers are loaded by module path
(``deploy_paradigms.runtime.sample_handler.handler``, see
:data:`deploy_paradigms.packaging.HANDLERS`); the Lambda bundles and the
container image get a generated, minimal ``__init__`` instead of this file.
"""

__all__: list[str] = []
