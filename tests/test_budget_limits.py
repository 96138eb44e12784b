"""Connection limits: the seed table exactly, the current families by formula, overrides, errors."""

from __future__ import annotations

import pytest

from deploy_paradigms.budget import (
    BudgetError,
    Engine,
    UnknownEngineError,
    UnknownInstanceClassError,
    connection_limit,
    describe_connection_limit,
    known_instance_classes,
)

# Prisma deployment docs, PostgreSQL on RDS: connections an application can use.
SEED = {
    "db.t2.micro": 77, "db.t2.small": 188, "db.t2.medium": 403, "db.t2.large": 846,
    "db.t2.xlarge": 1733, "db.t2.2xlarge": 3508, "db.m5.large": 813, "db.m5.xlarge": 1681,
    "db.m5.2xlarge": 3419, "db.m5.4xlarge": 4990,
}


@pytest.mark.parametrize(("instance_class", "expected"), sorted(SEED.items()))
def test_seed_table_reproduced_exactly(instance_class: str, expected: int) -> None:
    assert connection_limit("postgres", instance_class) == expected
    assert connection_limit("postgres", instance_class.removeprefix("db.")) == expected
    assert describe_connection_limit("postgres", instance_class).estimate is False


@pytest.mark.parametrize("family", ["t3", "t4g", "m5", "m6g", "m6i", "m7g", "r5", "r6g", "r6i", "r7g"])
@pytest.mark.parametrize("engine", ["postgres", "mysql", "mariadb"])
def test_current_families_covered_up_to_4xlarge(engine: str, family: str) -> None:
    sizes = ["micro", "small", "medium", "large", "xlarge", "2xlarge"] if family in ("t3", "t4g") \
        else ["large", "xlarge", "2xlarge", "4xlarge"]
    values = [connection_limit(engine, f"db.{family}.{size}") for size in sizes]
    assert all(v > 0 for v in values)
    assert values == sorted(values), "more memory never means fewer connections"


def test_formula_estimates_are_marked_and_err_low() -> None:
    lim = describe_connection_limit("postgres", "db.t3.micro")
    assert lim.estimate and "formula" in lim.source
    # t2.micro has the same 1 GiB as t3.micro: the estimate must not exceed the measured value.
    assert lim.usable <= SEED["db.t2.micro"]
    # Same memory as m5.large (8 GiB): never above the seed's measured 813.
    assert connection_limit("postgres", "db.m6g.large") <= SEED["db.m5.large"]


def test_postgres_formula_caps_at_5000() -> None:
    assert describe_connection_limit("postgres", "db.r6g.4xlarge").max_connections == 5000


def test_aurora_published_values() -> None:
    assert describe_connection_limit("aurora-postgresql", "db.r6g.large").max_connections == 1722
    assert describe_connection_limit("aurora-postgresql", "db.r5.4xlarge").max_connections == 5000
    assert describe_connection_limit("aurora-mysql", "db.t4g.medium").max_connections == 90
    assert describe_connection_limit("aurora-mysql", "db.r6g.2xlarge").max_connections == 3000
    sibling = describe_connection_limit("aurora-postgresql", "db.r7g.large")
    assert sibling.max_connections == 1722 and sibling.estimate
    # AWS asks to leave 3 for automation on Aurora MySQL.
    assert connection_limit("aurora-mysql", "db.r5.large") == 997


def test_aurora_serverless_v2_by_max_acu() -> None:
    assert describe_connection_limit("aurora-postgresql", max_acu=16, min_acu=1).max_connections == 3360
    assert describe_connection_limit("aurora-postgresql", max_acu=16).max_connections == 2000  # min 0.5 cap
    assert describe_connection_limit("aurora-mysql", max_acu=8).max_connections == 1000
    assert describe_connection_limit("aurora-mysql", max_acu=6).max_connections == 135  # lower row
    with pytest.raises(BudgetError, match="Aurora Serverless v2 only"):
        connection_limit("postgres", max_acu=8)
    with pytest.raises(BudgetError, match="needs max_acu"):
        connection_limit("aurora-postgresql", "db.serverless")


def test_max_connections_override() -> None:
    assert connection_limit("postgres", max_connections=100) == 90
    assert connection_limit("mysql", "db.x2g.large", max_connections=500) == 497
    with pytest.raises(BudgetError, match="leaves no usable connection"):
        connection_limit("postgres", max_connections=10)


def test_unknown_engine_lists_known_ones() -> None:
    with pytest.raises(UnknownEngineError) as err:
        connection_limit("oracle-ee", "db.m5.large")
    assert "postgres, mysql, mariadb, aurora-postgresql, aurora-mysql" in str(err.value)


def test_unknown_class_lists_families_and_override() -> None:
    with pytest.raises(UnknownInstanceClassError) as err:
        connection_limit("postgres", "db.z1d.large")
    msg = str(err.value)
    assert "db.z1d.large" in msg and "m6g" in msg and "max_connections=" in msg


def test_known_classes_all_resolve() -> None:
    for engine in Engine:
        for cls in known_instance_classes(engine):
            if cls == "db.serverless":
                continue
            assert connection_limit(engine, cls) > 0
