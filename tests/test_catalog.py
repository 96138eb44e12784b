"""The data endpoint's query catalog: validation at construction, coercion, cache headers, JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from deploy_paradigms.budget.errors import BudgetError
from deploy_paradigms.catalog import (
    SAMPLE_SCHEMA_SQL,
    SAMPLE_SCHEMA_STATEMENTS,
    CatalogError,
    NamedQuery,
    ParameterError,
    QueryCatalog,
    QueryParam,
    render_tag,
    sample_catalog,
    scan_sql,
)


def read(name: str = "q", sql: str = "SELECT 1", *params: QueryParam, **kw: Any) -> NamedQuery:
    return NamedQuery(name, sql, params, **kw)


# ----------------------------------------------------------------------------- validation


def test_catalog_error_is_a_budget_error() -> None:
    assert issubclass(CatalogError, BudgetError)


def test_empty_catalog_is_refused() -> None:
    with pytest.raises(CatalogError, match="empty.*sample_catalog"):
        QueryCatalog(())


def test_duplicate_query_names_are_refused() -> None:
    with pytest.raises(CatalogError, match=r"name\(s\) dup declared more than once.*rename"):
        QueryCatalog((read("dup"), read("dup", "SELECT 2")))


@pytest.mark.parametrize("name", ["Recent", "recent posts", "1st", "a/b", "", "x" * 65, "caf\u00e9", "a?b"])
def test_query_names_must_be_url_safe_slugs(name: str) -> None:
    with pytest.raises(CatalogError, match="URL-safe slug"):
        read(name)


@pytest.mark.parametrize("name", ["recent_posts", "post-by-id", "a", "v2"])
def test_valid_slugs(name: str) -> None:
    assert read(name).name == name


def test_cacheable_write_is_refused() -> None:
    with pytest.raises(CatalogError, match="write query cannot be cached.*set both to 0"):
        NamedQuery("w", "INSERT INTO t (a) VALUES (1)", mode="write", cache_ttl_s=60)
    with pytest.raises(CatalogError, match="cannot be cached"):
        NamedQuery("w", "DELETE FROM t", mode="write", stale_while_revalidate_s=5)


@pytest.mark.parametrize("field", ["cache_ttl_s", "stale_while_revalidate_s"])
def test_negative_ttl_is_refused(field: str) -> None:
    with pytest.raises(CatalogError, match=f"{field}=-1 is negative"):
        kwargs: dict[str, Any] = {field: -1}
        NamedQuery("q", "SELECT 1", **kwargs)


def test_swr_without_ttl_is_refused() -> None:
    with pytest.raises(CatalogError, match="without cache_ttl_s"):
        read(stale_while_revalidate_s=30)


def test_placeholder_without_declared_param() -> None:
    with pytest.raises(CatalogError,
                       match=r":id in the SQL have no declared parameter; add QueryParam\('id'"):
        read("q", "SELECT * FROM t WHERE id = :id")


def test_declared_param_without_placeholder() -> None:
    with pytest.raises(CatalogError, match="declared but the SQL has no :extra placeholder"):
        read("q", "SELECT 1", QueryParam("extra", "int"))


def test_duplicate_param_names() -> None:
    with pytest.raises(CatalogError, match="declared more than once"):
        read("q", "SELECT :a", QueryParam("a", "int"), QueryParam("a", "str"))


def test_positional_placeholders_are_refused() -> None:
    with pytest.raises(CatalogError, match="positional placeholder"):
        read("q", "SELECT * FROM t WHERE id = $1")


def test_block_comments_and_tagged_dollar_quotes_are_refused() -> None:
    with pytest.raises(CatalogError, match="block comments"):
        read("q", "SELECT 1 /* :nope */")
    with pytest.raises(CatalogError, match="tagged dollar quotes"):
        read("q", "SELECT $tag$ :x $tag$")


def test_multiple_statements_are_refused_but_a_trailing_semicolon_is_fine() -> None:
    with pytest.raises(CatalogError, match="more than one statement"):
        read("q", "SELECT 1; SELECT 2")
    assert read("q", "SELECT 1;  -- done").sql


def test_reads_must_not_write() -> None:
    with pytest.raises(CatalogError, match="must start with SELECT"):
        read("q", "INSERT INTO t VALUES (1)")
    with pytest.raises(CatalogError, match="contains 'DELETE'.*mode='write'"):
        read("q", "WITH gone AS (DELETE FROM t RETURNING *) SELECT * FROM gone")
    with pytest.raises(CatalogError, match="'UPDATE'"):
        read("q", "SELECT * FROM t FOR UPDATE")
    # Words inside literals, identifiers and comments do not count.
    assert read("q", "SELECT 'delete me' AS \"update\" -- insert\n FROM t").mode == "read"
    assert NamedQuery("w", "UPDATE t SET a = :a", (QueryParam("a", "int"),), mode="write").method == "POST"


def test_reserved_and_invalid_param_names() -> None:
    with pytest.raises(CatalogError, match="reserved by the database driver"):
        QueryParam("types", "str")
    with pytest.raises(CatalogError, match="must be an identifier"):
        QueryParam("1a", "int")
    with pytest.raises(CatalogError, match="not one of int, float, str, bool"):
        QueryParam("a", "date")  # type: ignore[arg-type]


def test_param_option_validation() -> None:
    with pytest.raises(CatalogError, match="max_length applies to type 'str' only"):
        QueryParam("a", "int", max_length=3)
    with pytest.raises(CatalogError, match="max_length=0"):
        QueryParam("a", "str", max_length=0)
    with pytest.raises(CatalogError, match="min_value applies"):
        QueryParam("a", "str", min_value=1)
    with pytest.raises(CatalogError, match="greater than max_value"):
        QueryParam("a", "int", min_value=5, max_value=1)
    with pytest.raises(CatalogError, match="has a default but required=True"):
        QueryParam("a", "int", default=3)
    with pytest.raises(CatalogError, match="default='x' is invalid"):
        QueryParam("a", "int", required=False, default="x")


# ----------------------------------------------------------------------------- scanning


def test_scanner_matches_pg8000_rules() -> None:
    scanned = scan_sql("SELECT now()::date, 'a:b', E'x\\'y:z', \"c:d\", $$ :q $$, :real, :real -- :c\n, :x")
    assert scanned.placeholders == ("real", "x")
    assert ":c" not in scanned.code and "'a" not in scanned.code


def test_scanner_agrees_with_pg8000() -> None:
    pg8000_native = pytest.importorskip("pg8000.native")
    sql = "SELECT :a, 'x:y', :b::text, E'it\\'s :no', \"q:r\", $$ :no $$, :a -- :no\n FROM t WHERE c = :c"
    _, make_vals = pg8000_native.to_statement(sql)
    assert make_vals({"a": 1, "b": 2, "c": 3}) == (1, 2, 3)
    assert scan_sql(sql).placeholders == ("a", "b", "c")


def test_array_slice_colon_is_explained() -> None:
    with pytest.raises(CatalogError, match="not a valid parameter name"):
        read("q", "SELECT arr[1:2] FROM t")


# ----------------------------------------------------------------------------- cache control


def test_cache_control_values() -> None:
    assert read(cache_ttl_s=60, stale_while_revalidate_s=300).cache_control() == \
        "public, max-age=60, stale-while-revalidate=300"
    assert read(cache_ttl_s=30).cache_control() == "public, max-age=30"
    assert read().cache_control() == "no-store"
    assert NamedQuery("w", "DELETE FROM t", mode="write").cache_control() == "no-store"


# ----------------------------------------------------------------------------- binding


def test_bind_types_defaults_and_errors() -> None:
    q = read("q", "SELECT :i, :f, :s, :b, :o", QueryParam("i", "int", min_value=1, max_value=10),
             QueryParam("f", "float"), QueryParam("s", "str", max_length=3), QueryParam("b", "bool"),
             QueryParam("o", "int", required=False, default=7))
    assert q.bind({"i": "3", "f": "1.5", "s": "abc", "b": "true"}) == \
        {"i": 3, "f": 1.5, "s": "abc", "b": True, "o": 7}
    assert q.bind({"i": 3, "f": 2, "s": "", "b": False, "o": None})["o"] == 7

    def code(raw: dict[str, object]) -> tuple[str, str]:
        with pytest.raises(ParameterError) as info:
            q.bind(raw)
        return info.value.code, info.value.param

    ok = {"i": "3", "f": "1", "s": "a", "b": "0"}
    assert code({**ok, "zzz": "1"}) == ("unexpected_parameter", "zzz")
    assert code({k: v for k, v in ok.items() if k != "i"}) == ("missing_parameter", "i")
    assert code({**ok, "i": "3.5"}) == ("invalid_parameter", "i")
    assert code({**ok, "i": "1 OR 1=1"}) == ("invalid_parameter", "i")
    assert code({**ok, "i": True}) == ("invalid_parameter", "i")
    assert code({**ok, "i": "11"}) == ("invalid_parameter", "i")
    assert code({**ok, "i": str(2**63)}) == ("invalid_parameter", "i")
    assert code({**ok, "f": "nan"}) == ("invalid_parameter", "f")
    assert code({**ok, "s": "abcd"}) == ("invalid_parameter", "s")
    assert code({**ok, "s": "a\x00"}) == ("invalid_parameter", "s")
    assert code({**ok, "s": 5}) == ("invalid_parameter", "s")
    assert code({**ok, "b": "maybe"}) == ("invalid_parameter", "b")


# ----------------------------------------------------------------------------- JSON


def test_json_round_trip_is_deterministic() -> None:
    catalog = sample_catalog()
    text = catalog.to_json()
    assert QueryCatalog.from_json(text) == catalog
    assert QueryCatalog.from_json(text).to_json() == text
    # Declaration order does not matter: queries are sorted by name, keys sorted.
    shuffled = QueryCatalog(tuple(reversed(catalog.queries)), catalog.schema)
    assert shuffled.to_json() == text
    data = json.loads(text)
    assert [q["name"] for q in data["queries"]] == [
        "create_post", "post_by_id", "recent_posts", "update_post"]
    assert text == json.dumps(data, sort_keys=True, indent=2) + "\n"


def test_json_is_identical_in_a_fresh_interpreter() -> None:
    code = "from deploy_paradigms.catalog import sample_catalog; print(sample_catalog().to_json(), end='')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out == sample_catalog().to_json()


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "not valid JSON"),
    ("[]", "must be an object"),
    ('{"format": 2, "queries": []}', "format 2 is not supported"),
    ('{"format": 1}', "missing queries"),
    ('{"format": 1, "queries": [], "extra": 1}', "unknown key"),
    ('{"format": 1, "queries": []}', "empty"),
    ('{"format": 1, "queries": [{"name": "a"}]}', r"queries\[0\] is missing sql"),
    ('{"format": 1, "queries": [{"name": "a", "sql": "SELECT :x", "params": [{"name": "x"}]}]}',
     r"params\[0\] is missing type"),
])
def test_from_json_errors_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(CatalogError, match=message):
        QueryCatalog.from_json(text)


# ----------------------------------------------------------------------------- the sample


def test_sample_catalog_shape() -> None:
    catalog = sample_catalog()
    assert catalog.names == ("create_post", "post_by_id", "recent_posts", "update_post")
    assert catalog["recent_posts"].cache_control() == "public, max-age=60, stale-while-revalidate=300"
    assert catalog["post_by_id"].placeholders == ("id",)
    assert catalog["create_post"].mode == "write" and catalog["create_post"].cache_control() == "no-store"
    assert catalog.get("nope") is None and "recent_posts" in catalog and len(catalog) == 4
    assert catalog.schema == SAMPLE_SCHEMA_STATEMENTS
    assert SAMPLE_SCHEMA_SQL.count(";") == len(SAMPLE_SCHEMA_STATEMENTS)
    assert "CREATE TABLE IF NOT EXISTS posts" in SAMPLE_SCHEMA_SQL


def test_catalog_imports_no_framework_or_driver() -> None:
    code = ("import sys, deploy_paradigms.catalog; "
            "print([m for m in sys.modules if m.split('.')[0] in ('aws_cdk', 'pulumi', 'jsii', 'pg8000')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ----------------------------------------------------------------------------- cache tags


def write(name: str = "w", sql: str = "DELETE FROM posts WHERE id = :id", *params: QueryParam,
          **kw: Any) -> NamedQuery:
    return NamedQuery(name, sql, params or (QueryParam("id", "int"),), mode="write", **kw)


@pytest.mark.parametrize(("tag", "message"), [
    ("posts*", "contains '*'; CloudFront matches tags exactly (no wildcards)"),
    ("a,b", "contains ','; tags may use only ASCII 33-126"),
    ("new post", "contains ' '"),
    ("café", "contains 'é'"),
    ("", "must be a non-empty string"),
    ("post:{id", "unmatched '{'"),
    ("post:{}", "has field {}"),
    ("x" * 257, "CloudFront allows at most 256"),
])
def test_tags_follow_cloudfronts_rules(tag: str, message: str) -> None:
    with pytest.raises(CatalogError, match=re.escape(message)):
        read(cache_ttl_s=5, cache_tags=(tag,))


def test_a_256_character_tag_is_the_longest_allowed() -> None:
    assert read(cache_ttl_s=5, cache_tags=("x" * 256,)).cache_tags == ("x" * 256,)


def test_at_most_50_tags_per_read_and_no_two_that_differ_only_in_case() -> None:
    read(cache_ttl_s=5, cache_tags=tuple(f"t{i}" for i in range(50)))
    with pytest.raises(CatalogError, match="declares 51 tags; CloudFront stores at most 50 tags per cached"):
        read(cache_ttl_s=5, cache_tags=tuple(f"t{i}" for i in range(51)))
    with pytest.raises(CatalogError, match="'Posts' and 'posts', the same tag to CloudFront"):
        read(cache_ttl_s=5, cache_tags=("Posts", "posts"))


def test_tags_belong_on_cached_reads_and_invalidations_on_writes() -> None:
    with pytest.raises(CatalogError, match="without cache_ttl_s tag a response that is never cached"):
        read(cache_tags=("posts",))
    with pytest.raises(CatalogError, match="a write is never cached, so it carries no cache_tags; declare"):
        write(cache_tags=("posts",))
    with pytest.raises(CatalogError, match="a read cannot invalidate"):
        read(cache_ttl_s=5, invalidates=("posts",))
    with pytest.raises(CatalogError, match="must be a list of tags"):
        read(cache_ttl_s=5, cache_tags="posts")  # type: ignore[arg-type]


def test_fields_name_parameters_or_returned_columns() -> None:
    with pytest.raises(CatalogError, match=r"uses \{slug\}, which is not a parameter of this query \(id\)"):
        read("q", "SELECT 1 WHERE 1 = :id", QueryParam("id", "int"), cache_ttl_s=5, cache_tags=("p:{slug}",))
    with pytest.raises(CatalogError, match="the write returns no rows; add RETURNING id"):
        write(invalidates=("post:{row.id}",))
    assert write(sql="DELETE FROM posts WHERE id = :id RETURNING id",
                 invalidates=("post:{row.id}",)).invalidates == ("post:{row.id}",)


def test_a_write_may_only_invalidate_tags_some_read_declares() -> None:
    reader = read("post", "SELECT 1 WHERE 1 = :id", QueryParam("id", "int"), cache_ttl_s=5,
                  cache_tags=("post:{id}", "posts"))
    # Field names may differ between the read and the write: the shape must match.
    QueryCatalog((reader, write("w", "DELETE FROM posts WHERE id = :post_id", QueryParam("post_id", "int"),
                                invalidates=("post:{post_id}", "POSTS"))))
    QueryCatalog((reader, write(invalidates=("post:7",))))  # a literal the template renders
    with pytest.raises(CatalogError, match=r"invalidates 'post:\{id\}:x', but no read declares that tag "
                                           r"\(reads declare: post:\{id\}, posts\); add cache_tags="):
        QueryCatalog((reader, write(invalidates=("post:{id}:x",))))
    with pytest.raises(CatalogError, match="invalidates 'postz', but no read declares"):
        QueryCatalog((reader, write(invalidates=("postz",))))


def test_rendered_tags_are_valid_lower_case_and_the_same_for_reads_and_writes() -> None:
    catalog = sample_catalog()
    assert catalog["post_by_id"].render_tags({"id": 7}, []) == ["post:7"]
    assert catalog["update_post"].render_tags({"id": 7, "title": "t", "body": "b"}, []) == ["posts", "post:7"]
    query = read("q", "SELECT id FROM t WHERE name = :name", QueryParam("name", "str"), cache_ttl_s=5,
                 cache_tags=("name:{name}", "row:{row.id}"))
    tags = query.render_tags({"name": "Ünïcode, with * and %"}, [{"id": 1}, {"id": 2.0}, {"id": 1}])
    assert tags == ["name:%c3%9cn%c3%afcode%2c%20with%20%2a%20and%20%25", "row:1", "row:2"]
    for tag in tags + [render_tag("x" * 1000)]:
        assert len(tag) <= 256 and all(33 <= ord(c) <= 126 and c not in ",*" for c in tag)
    assert render_tag("A" * 300) == render_tag("a" * 300) != render_tag("a" * 301)
    with pytest.raises(KeyError):
        query.render_tags({"name": "n"}, [{"other": 1}])


def test_tags_survive_the_json_round_trip() -> None:
    catalog = sample_catalog()
    again = QueryCatalog.from_json(catalog.to_json())
    assert again["post_by_id"].cache_tags == ("post:{id}",)
    assert again["update_post"].invalidates == ("posts", "post:{id}")
    assert "cache_tags" not in json.loads(QueryCatalog((read(cache_ttl_s=5),)).to_json())["queries"][0]
