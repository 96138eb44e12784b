"""Every decision the constructs make, framework-free: one module per paradigm and shared piece.

Both renderers, :mod:`deploy_paradigms.cdk` and :mod:`deploy_paradigms.pulumi`, read their
settings, checks, names and environment contracts from here, so the two cannot disagree.
The connection arithmetic stays in :mod:`deploy_paradigms.budget`; nothing here imports
aws-cdk-lib or pulumi (``tests/test_plans_framework_free.py``).

- :mod:`.checks`: shared input checks (choices, log retention, non-empty strings).
- :mod:`.names`: physical names (RDS Proxy, ECS task family).
- :mod:`.environment`: the environment contract and reserved keys.
- :mod:`.database`: database settings, parameters, users.
- :mod:`.paas`: container service settings.
- :mod:`.edge`: edge function and data endpoint settings.
- :mod:`.migrations`, :mod:`.changes`: migrations and change-stream settings.
"""

# Submodules are imported by name (``from deploy_paradigms.plans.edge import ...``); the package
# itself re-exports nothing, so importing one plan never loads the others.
__all__: list[str] = []
