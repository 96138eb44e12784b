"""Benchmarks for deploy-paradigms (``python -m bench --help``; numbers in BENCHMARKS.md).

``connections``  the connection budget under load: a real PostgreSQL sized like an RDS
                 class and PgBouncer standing in for RDS Proxy, four scenarios side by side.
``devloop``      developer-loop speed: ``cdk synth`` against an empty CDK app, where synth
                 time goes, the test suite, and the Lambda packages' size and cold import.
``readme``       rewrite README.md's benchmark table from ``bench/results/*.json``.

Run from the repository root with the project's virtualenv (``make bench``).
"""
