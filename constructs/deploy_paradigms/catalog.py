"""The data endpoint's query catalog: the only SQL the edge paradigm can run.

Edge functions cannot hold database connections (no VPC, no long-lived
sockets), so they reach data over HTTP through a data endpoint Lambda that sits
behind RDS Proxy. That Lambda never accepts SQL from callers: it runs named
queries declared here, binds the caller's values as typed parameters (never
interpolated into the SQL text), and answers reads with a ``Cache-Control``
header so CloudFront can absorb read traffic before it costs a connection.

The catalog is validated when it is built (at synth time in CDK or Pulumi), so
a duplicate name, a cacheable write or a placeholder without a declared
parameter fails the deployment with a message naming the query and the fix,
instead of failing a request in production. :meth:`QueryCatalog.to_json` is
deterministic (sorted keys, sorted queries) because the JSON is baked into the
Lambda asset as ``catalog.json`` and must not change the asset hash between runs.

This module imports nothing from CDK, Pulumi or a database driver.

SQL rules (they follow pg8000's ``:name`` parameter scanner, which the runtime
uses, so what validates here binds the same way there):

- placeholders are ``:name`` (``::type`` casts are fine); positional ``$1`` is not;
- one statement per query (no ``;`` except a trailing one);
- comments are ``--`` line comments (``/* */`` is rejected: pg8000 would read a
  ``:`` inside it as a placeholder); dollar quoting only as ``$$...$$``;
- read queries start with SELECT/WITH/VALUES/TABLE and contain no
  data-modifying word (INSERT/UPDATE/DELETE/MERGE, SELECT ... INTO,
  FOR UPDATE/SHARE, nextval/setval): they are served with GET, cached publicly at the edge and, being
  idempotent, retried once on a dead connection. Give the endpoint's database
  role only the privileges its queries need: this check is a guard against
  mistakes, not a sandbox (a function called from a SELECT can still write).

Cache tags (CloudFront invalidation by tag): a cached read declares
``cache_tags`` -- templates such as ``"posts"`` or ``"post:{id}"`` (a parameter)
or ``"post:{row.id}"`` (one tag per result row) -- and the endpoint answers it
with those tags in :data:`CACHE_TAG_HEADER`. A write declares ``invalidates``
in the same grammar; after it commits, the endpoint asks CloudFront to drop
every cached response carrying one of the rendered tags. Templates are checked
here against CloudFront's rules (ASCII 33-126 without commas, no ``*``, at
most 256 characters, at most 50 per response, case-insensitive), and a write
may only invalidate tags some read declares. :func:`render_tag` turns a value
into a tag that always obeys the rules, the same way for reads and writes.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from deploy_paradigms.budget.errors import BudgetError

ParamType = Literal["int", "float", "str", "bool"]
Mode = Literal["read", "write"]
ParamValue = int | float | str | bool

PARAM_TYPES: tuple[str, ...] = ("int", "float", "str", "bool")
MODES: tuple[str, ...] = ("read", "write")
CATALOG_FORMAT = 1

#: Unknown parameter names an error message lists (the rest are counted).
MAX_NAMES_SHOWN = 5
# PostgreSQL bigint range: a larger value would fail in the database with
# "value out of range" (SQLSTATE 22003), so reject it as a bad parameter first.
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

# pg8000.native.Connection.run(sql, stream=None, types=None, **params) takes
# the parameters as keyword arguments, so these names cannot be placeholders.
RESERVED_PARAM_NAMES = frozenset({"sql", "stream", "types"})

#: Response header the data endpoint puts a read's tags in; the distribution's
#: CacheTagConfig names it, so CloudFront stores the tags with the object.
CACHE_TAG_HEADER = "x-dp-cache-tags"
#: CloudFront cache tag rules ("What you need to know when invalidating tags").
MAX_TAG_LENGTH = 256
MAX_TAGS_PER_RESPONSE = 50
#: Tags one write may invalidate. CloudFront allows 3,000 invalidation paths in
#: flight per distribution; 100 per write leaves room for 30 writes' batches at once.
MAX_TAGS_PER_INVALIDATION = 100
TAG_CHARACTERS = "ASCII 33-126 except ',' (and '*', which CloudFront does not match as a wildcard)"
# Rendered values longer than this are shortened to a prefix and a hash so the
# whole tag stays within MAX_TAG_LENGTH, identically for reads and writes.
_TAG_VALUE_PREFIX = 180
_TAG_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ROW_PREFIX = "row."
_COLUMN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_RETURNING = re.compile(r"\breturning\b", re.IGNORECASE)

_QUERY_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_FIRST_WORD = re.compile(r"[A-Za-z_]+")
_READ_STARTS = frozenset({"select", "with", "values", "table"})
# A statement that starts like a read can still change data through a
# data-modifying CTE, SELECT ... INTO (creates a table), row locks
# (FOR UPDATE/SHARE) or sequence functions: reject those words in reads.
_NOT_READ = re.compile(
    r"\b(insert|update|delete|merge|into|share|truncate|nextval|setval)\b",
    re.IGNORECASE,
)


class CatalogError(BudgetError):
    """A query catalog that the data endpoint could not serve safely."""


class ParameterError(ValueError):
    """A request's parameter is missing, unexpected or not of its declared type.

    ``code`` is machine-readable (``missing_parameter``, ``unexpected_parameter``
    or ``invalid_parameter``); the message names the parameter and what to send.
    """

    def __init__(self, code: str, param: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.param = param


# --------------------------------------------------------------------------- SQL scanning


@dataclass(frozen=True)
class ScannedSql:
    """What the scanner found: placeholders in order, and the SQL with literals blanked."""

    placeholders: tuple[str, ...]  # first-appearance order, without duplicates
    code: str  # quotes and comments replaced by spaces, for keyword checks


def scan_sql(sql: str, *, query: str = "?") -> ScannedSql:
    """Find ``:name`` placeholders exactly where pg8000's named-parameter scanner does.

    The states mirror ``pg8000.native.to_statement`` (quotes, ``E''`` strings,
    quoted identifiers, ``--`` comments, ``$$`` strings) so a placeholder this
    finds is one pg8000 binds, and one it skips is one pg8000 leaves alone.
    Constructs pg8000 mis-reads are rejected with a fix.
    """
    out, sq, qi, es, pn, co, dq = range(7)
    state = out
    quote_escape = False
    found: list[str] = []
    code: list[str] = []
    current = ""
    prev: str | None = None
    for i, c in enumerate(sql):
        nxt = sql[i + 1] if i + 1 < len(sql) else None
        if state == out:
            if c == "'":
                state = es if prev == "E" else sq
                code.append(" ")
            elif c == '"':
                state = qi
                code.append(" ")
            elif c == "-" and prev == "-":
                state = co
                code[-1] = " "
                code.append(" ")
            elif c == "/" and nxt == "*":
                raise CatalogError(
                    f"query {query!r}: block comments (/* ... */) are not supported because pg8000 "
                    f"reads a ':' inside them as a placeholder; use -- line comments")
            elif c == "$":
                if prev == "$":
                    state = dq
                    code[-1] = " "
                    code.append(" ")
                elif nxt is not None and nxt.isdigit():
                    raise CatalogError(
                        f"query {query!r}: positional placeholder ${nxt}... is not supported; "
                        f"use named placeholders such as :id and declare them in params")
                elif nxt is not None and (nxt.isalpha() or nxt == "_"):
                    raise CatalogError(
                        f"query {query!r}: tagged dollar quotes ($tag$...$tag$) are not supported "
                        f"by pg8000's parameter scanner; use $$...$$ or a '...' literal")
                else:
                    code.append(c)
            elif c == ":" and prev != ":" and nxt not in (":", "="):
                if nxt is None:
                    raise CatalogError(f"query {query!r}: the SQL ends with ':'; remove it")
                state = pn
                current = ""
                code.append(" ")
            else:
                code.append(c)
        elif state == sq:
            if c == "'":
                if quote_escape:
                    quote_escape = False
                elif nxt == "'":
                    quote_escape = True
                else:
                    state = out
            code.append(" ")
        elif state == qi:
            if c == '"':
                state = out
            code.append(" ")
        elif state == es:
            if c == "'" and prev != "\\":
                state = out
            code.append(" ")
        elif state == pn:
            current += c
            code.append(" ")
            if nxt is None or (not nxt.isalnum() and nxt != "_"):
                state = out
                if not _PARAM_NAME.match(current):
                    raise CatalogError(
                        f"query {query!r}: ':{current}' is read as a placeholder but is not a valid "
                        f"parameter name; name placeholders like :post_id, and write array "
                        f"slices or other ':' uses as '::' casts or with functions instead")
                if current not in found:
                    found.append(current)
        elif state == co:
            code.append(" " if c != "\n" else "\n")
            if c == "\n":
                state = out
        elif state == dq:
            if c == "$" and prev == "$":
                state = out
            code.append(" ")
        prev = c
    if state in (sq, qi, es, dq):
        raise CatalogError(f"query {query!r}: the SQL has an unterminated quoted string or identifier")
    return ScannedSql(tuple(found), "".join(code))


# --------------------------------------------------------------------------- cache tags


@dataclass(frozen=True)
class TagTemplate:
    """A parsed cache tag template: ``literals[0] {fields[0]} literals[1] ... literals[-1]``.

    A field is a parameter name (``{id}``) or ``row.<column>`` (``{row.id}``: one
    tag per result row). Literals are kept lower case: CloudFront compares tags
    case-insensitively, so rendering lowers everything.
    """

    text: str
    literals: tuple[str, ...]
    fields: tuple[str, ...]

    @property
    def shape(self) -> str:
        """The template with every field as ``{}``: reads and writes match on it."""
        return "{}".join(self.literals)

    @property
    def row_fields(self) -> tuple[str, ...]:
        return tuple(f[len(_ROW_PREFIX):] for f in self.fields if f.startswith(_ROW_PREFIX))

    @property
    def param_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if not f.startswith(_ROW_PREFIX))

    def matches_literal(self, tag: str) -> bool:
        """True if the fully literal ``tag`` could be one this template renders."""
        pattern = ".+".join(re.escape(part) for part in self.literals)
        return re.fullmatch(pattern, tag.lower()) is not None

    def render(self, params: Mapping[str, object], rows: Sequence[Mapping[str, object]]) -> list[str]:
        """The tags for one response: one, or one per row when a field reads a row.

        Raises ``KeyError`` naming a column the rows do not have.
        """
        if not self.row_fields:
            return [_join_tag(self.literals, [params.get(f) for f in self.fields])]
        tags: list[str] = []
        for row in rows:
            values = [row[f[len(_ROW_PREFIX):]] if f.startswith(_ROW_PREFIX) else params.get(f)
                      for f in self.fields]
            tags.append(_join_tag(self.literals, values))
        return tags


def _tag_value(value: object) -> str:
    """A value as tag text: canonical (1 == 1.0, ISO 8601 times), outside characters %-encoded."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        text = str(int(value))
    elif hasattr(value, "isoformat"):
        text = str(value.isoformat())
    else:
        text = str(value)
    out: list[str] = []
    for char in text:
        if 33 <= ord(char) <= 126 and char not in ",%*":
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def _join_tag(literals: tuple[str, ...], values: list[object]) -> str:
    parts = [literals[0]]
    for value, literal in zip(values, literals[1:], strict=True):
        parts.extend((_tag_value(value), literal))
    return render_tag("".join(parts))


def render_tag(text: str) -> str:
    """``text`` as a valid CloudFront tag: lower case; a longer one becomes a prefix and a hash.

    Deterministic, so a read and a write that render the same text agree.
    """
    tag = text.lower()
    if len(tag) <= MAX_TAG_LENGTH:
        return tag
    digest = hashlib.sha256(tag.encode("utf-8")).hexdigest()[:32]
    return f"{tag[:MAX_TAG_LENGTH - 33]}~{digest}"


def parse_tag_template(text: object, *, where: str) -> TagTemplate:
    """Parse and check one template against CloudFront's tag rules (fields are checked by the caller)."""
    if not isinstance(text, str) or not text:
        raise CatalogError(f"{where}: cache tag {text!r} must be a non-empty string such as 'posts' or "
                           f"'post:{{id}}'")
    literals: list[str] = []
    fields: list[str] = []
    position = 0
    for match in _TAG_PLACEHOLDER.finditer(text):
        literals.append(text[position:match.start()])
        fields.append(match.group(1))
        position = match.end()
    literals.append(text[position:])
    for literal in literals:
        for char in literal:
            if char == "*":
                raise CatalogError(
                    f"{where}: cache tag {text!r} contains '*'; CloudFront matches tags exactly (no "
                    f"wildcards): declare a broader tag such as 'posts' on the reads and invalidate that")
            if char in "{}":
                raise CatalogError(f"{where}: cache tag {text!r} has an unmatched '{char}'; fields are "
                                   f"written {{param}} or {{row.column}}")
            if not 33 <= ord(char) <= 126 or char == ",":
                raise CatalogError(f"{where}: cache tag {text!r} contains {char!r}; tags may use only "
                                   f"{TAG_CHARACTERS}: replace it, e.g. with ':' or '-'")
    for name in fields:
        column = name[len(_ROW_PREFIX):] if name.startswith(_ROW_PREFIX) else name
        if not _COLUMN_NAME.match(column):
            raise CatalogError(f"{where}: cache tag {text!r} has field {{{name}}}; a field names a "
                               f"parameter ({{id}}) or a result column ({{row.id}})")
    # Every field renders to at least one character.
    shortest = sum(len(literal) for literal in literals) + len(fields)
    if shortest > MAX_TAG_LENGTH:
        raise CatalogError(f"{where}: cache tag {text[:40]!r}... is {shortest} characters or more; "
                           f"CloudFront allows at most {MAX_TAG_LENGTH}: shorten it")
    return TagTemplate(text, tuple(literal.lower() for literal in literals), tuple(fields))


# --------------------------------------------------------------------------- model


@dataclass(frozen=True)
class QueryParam:
    """One typed parameter of a named query.

    ``max_length`` applies to ``str`` only; ``min_value``/``max_value`` to
    numbers only. An optional parameter (``required=False``) that the caller
    omits is bound as ``default`` (``None`` -> SQL NULL).
    """

    name: str
    type: ParamType
    required: bool = True
    max_length: int | None = None
    min_value: int | float | None = None
    max_value: int | float | None = None
    default: ParamValue | None = None

    def __post_init__(self) -> None:
        where = f"parameter {self.name!r}"
        if not isinstance(self.name, str) or not _PARAM_NAME.match(self.name):
            raise CatalogError(f"{where}: the name must be an identifier (letters, digits, '_', not "
                               f"starting with a digit, at most 63 characters), e.g. 'post_id'")
        if self.name in RESERVED_PARAM_NAMES:
            raise CatalogError(f"{where}: {sorted(RESERVED_PARAM_NAMES)} are reserved by the database "
                               f"driver (pg8000); rename the parameter, e.g. '{self.name}_'")
        if self.type not in PARAM_TYPES:
            raise CatalogError(f"{where}: type={self.type!r} is not one of {', '.join(PARAM_TYPES)}")
        if not isinstance(self.required, bool):
            raise CatalogError(f"{where}: required={self.required!r} must be True or False")
        if self.max_length is not None:
            if self.type != "str":
                raise CatalogError(f"{where}: max_length applies to type 'str' only; remove it")
            if isinstance(self.max_length, bool) or not isinstance(self.max_length, int) \
                    or self.max_length < 1:
                raise CatalogError(f"{where}: max_length={self.max_length!r} must be a whole number >= 1")
        for bound_name in ("min_value", "max_value"):
            bound = getattr(self, bound_name)
            if bound is None:
                continue
            if self.type not in ("int", "float"):
                raise CatalogError(f"{where}: {bound_name} applies to 'int' and 'float' only; remove it")
            if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
                raise CatalogError(f"{where}: {bound_name}={bound!r} must be a finite number")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise CatalogError(f"{where}: min_value={self.min_value} is greater than "
                               f"max_value={self.max_value}; swap them")
        if self.default is not None:
            if self.required:
                raise CatalogError(f"{where}: has a default but required=True; set required=False "
                                   f"(a parameter with a default is optional)")
            try:
                object.__setattr__(self, "default", self.coerce(self.default))
            except ParameterError as exc:
                raise CatalogError(f"{where}: default={self.default!r} is invalid: {exc}") from None

    def coerce(self, value: object) -> ParamValue:
        """Turn a query-string text or JSON value into this parameter's type, or raise.

        Text (query strings) is parsed; JSON values must already have the type
        (an ``int`` is accepted for ``float``; ``true``/``false`` are never numbers).
        """
        name, kind = self.name, self.type
        if kind == "str":
            if not isinstance(value, str):
                raise ParameterError("invalid_parameter", name, f"parameter {name!r} must be a string")
            if "\x00" in value:  # PostgreSQL text cannot hold NUL bytes
                raise ParameterError("invalid_parameter", name,
                                     f"parameter {name!r} contains a NUL character")
            if not _encodable(value):  # a lone surrogate ("\ud800" in JSON) has no UTF-8 form
                raise ParameterError("invalid_parameter", name,
                                     f"parameter {name!r} is not valid Unicode text (it holds a lone "
                                     f"surrogate such as \\ud800)")
            if self.max_length is not None and len(value) > self.max_length:
                raise ParameterError("invalid_parameter", name,
                                     f"parameter {name!r} is {len(value)} characters long; "
                                     f"the most allowed is {self.max_length}")
            return value
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "1", "false", "0"):
                return value.strip().lower() in ("true", "1")
            raise ParameterError("invalid_parameter", name,
                                 f"parameter {name!r} must be a boolean (true/false or 1/0)")
        number: int | float
        if kind == "int":
            if isinstance(value, int) and not isinstance(value, bool):
                number = value
            elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d{1,20}\s*", value):
                number = int(value)
            else:
                raise ParameterError("invalid_parameter", name,
                                     f"parameter {name!r} must be a whole number, got {_shown(value)}")
            if not INT_MIN <= number <= INT_MAX:
                raise ParameterError("invalid_parameter", name,
                                     f"parameter {name!r} is outside the 64-bit integer range")
        else:  # float
            if isinstance(value, int | float) and not isinstance(value, bool):
                number = float(value)
            elif isinstance(value, str):
                try:
                    number = float(value)
                except ValueError:
                    raise ParameterError(
                        "invalid_parameter", name,
                        f"parameter {name!r} must be a number, got {_shown(value)}") from None
            else:
                raise ParameterError("invalid_parameter", name,
                                     f"parameter {name!r} must be a number, got {_shown(value)}")
            if not math.isfinite(number):
                raise ParameterError("invalid_parameter", name, f"parameter {name!r} must be finite")
        if self.min_value is not None and number < self.min_value:
            raise ParameterError("invalid_parameter", name,
                                 f"parameter {name!r}={number} is below the minimum {self.min_value}")
        if self.max_value is not None and number > self.max_value:
            raise ParameterError("invalid_parameter", name,
                                 f"parameter {name!r}={number} is above the maximum {self.max_value}")
        return number

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "max_length": self.max_length,
            "min_value": self.min_value,
            "max_value": self.max_value,
            "default": self.default,
        }


def _shown(value: object) -> str:
    return _clipped(repr(value), 40)


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass(frozen=True)
class NamedQuery:
    """A query callers run by name: ``GET /data/<name>`` (read) or ``POST /data/<name>`` (write)."""

    name: str
    sql: str
    params: tuple[QueryParam, ...] = ()
    mode: Mode = "read"
    cache_ttl_s: int = 0
    stale_while_revalidate_s: int = 0
    #: Reads: tag templates the response carries (``"posts"``, ``"post:{id}"``, ``"post:{row.id}"``).
    cache_tags: tuple[str, ...] = ()
    #: Writes: tag templates whose cached responses are invalidated once the write commits.
    invalidates: tuple[str, ...] = ()
    placeholders: tuple[str, ...] = field(default=(), init=False, compare=False, repr=False)
    tag_templates: tuple[TagTemplate, ...] = field(default=(), init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        name = self.name
        if not isinstance(name, str) or not _QUERY_NAME.match(name):
            raise CatalogError(
                f"query name {name!r} is not a URL-safe slug; use lowercase letters, digits, '-' and "
                f"'_', starting with a letter, at most 64 characters (e.g. 'recent_posts')")
        where = f"query {name!r}"
        object.__setattr__(self, "params", tuple(self.params))
        for p in self.params:
            if not isinstance(p, QueryParam):
                raise CatalogError(f"{where}: params must be QueryParam objects, got {p!r}")
        if self.mode not in MODES:
            raise CatalogError(f"{where}: mode={self.mode!r} must be 'read' or 'write'")
        for attr in ("cache_ttl_s", "stale_while_revalidate_s"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, int):
                raise CatalogError(f"{where}: {attr}={value!r} must be a whole number of seconds")
            if value < 0:
                raise CatalogError(f"{where}: {attr}={value} is negative; use 0 (no caching) or more")
        if self.mode == "write" and (self.cache_ttl_s or self.stale_while_revalidate_s):
            raise CatalogError(
                f"{where}: a write query cannot be cached (cache_ttl_s={self.cache_ttl_s}, "
                f"stale_while_revalidate_s={self.stale_while_revalidate_s}); CloudFront does not "
                f"cache POST and a cached write would be skipped: set both to 0, or make it a read")
        if self.stale_while_revalidate_s and not self.cache_ttl_s:
            raise CatalogError(
                f"{where}: stale_while_revalidate_s={self.stale_while_revalidate_s} without "
                f"cache_ttl_s has no effect (the response is no-store); set cache_ttl_s > 0 or "
                f"stale_while_revalidate_s=0")
        if not isinstance(self.sql, str) or not self.sql.strip():
            raise CatalogError(f"{where}: sql is empty")
        scanned = scan_sql(self.sql, query=name)
        body = scanned.code.strip()
        if ";" in body.rstrip(";").rstrip() or body.count(";") > 1:
            raise CatalogError(f"{where}: the SQL holds more than one statement; a named query runs "
                               f"exactly one (split it into several queries)")
        declared = [p.name for p in self.params]
        dupes = sorted({n for n in declared if declared.count(n) > 1})
        if dupes:
            raise CatalogError(f"{where}: parameter(s) {', '.join(dupes)} declared more than once")
        undeclared = [n for n in scanned.placeholders if n not in declared]
        unused = [n for n in declared if n not in scanned.placeholders]
        if undeclared:
            raise CatalogError(
                f"{where}: placeholder(s) {', '.join(':' + n for n in undeclared)} in the SQL have no "
                f"declared parameter; add QueryParam({undeclared[0]!r}, ...) to params")
        if unused:
            raise CatalogError(
                f"{where}: parameter(s) {', '.join(unused)} are declared but the SQL has no "
                f"{', '.join(':' + n for n in unused)} placeholder; use them in the SQL or remove them")
        if self.mode == "read":
            first = _FIRST_WORD.search(body)
            if first is None or first.group(0).lower() not in _READ_STARTS:
                raise CatalogError(
                    f"{where}: a read query must start with SELECT, WITH, VALUES or TABLE; "
                    f"if it changes data declare mode='write'")
            bad = _NOT_READ.search(body)
            if bad:
                raise CatalogError(
                    f"{where}: a read query contains {bad.group(0).upper()!r}; reads are served with "
                    f"GET, cached and retried, so declare it mode='write' (POST) instead")
        object.__setattr__(self, "placeholders", scanned.placeholders)
        object.__setattr__(self, "tag_templates", self._check_tags(where, declared, body))

    def _check_tags(self, where: str, declared: list[str], body: str) -> tuple[TagTemplate, ...]:
        for attr in ("cache_tags", "invalidates"):
            value = getattr(self, attr)
            if isinstance(value, str):
                raise CatalogError(f"{where}: {attr}={value!r} must be a list of tags, e.g. [{value!r}]")
            object.__setattr__(self, attr, tuple(value))
        if self.mode == "write" and self.cache_tags:
            raise CatalogError(f"{where}: a write is never cached, so it carries no cache_tags; declare the "
                               f"tags it changes as invalidates={list(self.cache_tags)!r}")
        if self.mode == "read" and self.invalidates:
            raise CatalogError(f"{where}: a read cannot invalidate (invalidates={list(self.invalidates)!r}); "
                               f"declare the tags it carries as cache_tags, and invalidate them from writes")
        if self.cache_tags and not self.cache_ttl_s:
            raise CatalogError(f"{where}: cache_tags={list(self.cache_tags)!r} without cache_ttl_s tag a "
                               f"response that is never cached; set cache_ttl_s > 0 or remove the tags")
        templates = self.cache_tags or self.invalidates
        attr = "cache_tags" if self.cache_tags else "invalidates"
        limit = MAX_TAGS_PER_RESPONSE if self.cache_tags else MAX_TAGS_PER_INVALIDATION
        if len(templates) > limit:
            what = ("CloudFront stores at most 50 tags per cached object" if self.cache_tags else
                    f"one write sends at most {MAX_TAGS_PER_INVALIDATION} tags per invalidation")
            raise CatalogError(f"{where}: {attr} declares {len(templates)} tags; {what}: use broader tags "
                               f"(e.g. 'posts' instead of one per column)")
        parsed = tuple(parse_tag_template(t, where=where) for t in templates)
        seen: dict[str, str] = {}
        for template in parsed:
            key = template.text.lower()
            if key in seen:
                raise CatalogError(f"{where}: {attr} has {seen[key]!r} and {template.text!r}, the same tag "
                                   f"to CloudFront (tags are case-insensitive); keep one")
            seen[key] = template.text
            unknown = [f for f in template.param_fields if f not in declared]
            if unknown:
                raise CatalogError(
                    f"{where}: cache tag {template.text!r} uses {{{unknown[0]}}}, which is not a parameter "
                    f"of this query ({', '.join(declared) or 'none'}); use a parameter, or "
                    f"{{row.{unknown[0]}}} for a result column")
            if template.row_fields and self.mode == "write" and not _RETURNING.search(body):
                raise CatalogError(
                    f"{where}: cache tag {template.text!r} reads result columns, but the write returns no "
                    f"rows; add RETURNING {', '.join(template.row_fields)} to the SQL")
        return parsed

    def render_tags(self, params: Mapping[str, object],
                    rows: Sequence[Mapping[str, object]]) -> list[str]:
        """This query's tags for one response (reads) or one committed write, deduplicated in order.

        Raises ``KeyError`` when a ``{row.column}`` names a column the result lacks.
        """
        tags: dict[str, None] = {}
        for template in self.tag_templates:
            tags.update(dict.fromkeys(template.render(params, rows)))
        return list(tags)

    @property
    def method(self) -> str:
        """The HTTP method that runs this query."""
        return "GET" if self.mode == "read" else "POST"

    def cache_control(self) -> str:
        """``Cache-Control`` for a successful response to this query."""
        if self.mode == "write" or self.cache_ttl_s == 0:
            return "no-store"
        value = f"public, max-age={self.cache_ttl_s}"
        if self.stale_while_revalidate_s:
            value += f", stale-while-revalidate={self.stale_while_revalidate_s}"
        return value

    def bind(self, raw: Mapping[str, object]) -> dict[str, ParamValue | None]:
        """Check and type a request's values: every declared parameter, nothing else.

        Raises :class:`ParameterError` for the first problem, naming the parameter.
        """
        declared = {p.name: p for p in self.params}
        extra = sorted(k for k in raw if k not in declared)
        if extra:
            expected = ", ".join(declared) or "none"
            # Name a few, clipped: the message must not grow with a hostile request.
            shown = ", ".join(_clipped(k, 40) for k in extra[:MAX_NAMES_SHOWN])
            if len(extra) > MAX_NAMES_SHOWN:
                shown += f" and {len(extra) - MAX_NAMES_SHOWN} more"
            raise ParameterError("unexpected_parameter", _clipped(extra[0], 40),
                                 f"unexpected parameter(s) {shown} for query {self.name!r}; "
                                 f"it takes: {expected}")
        bound: dict[str, ParamValue | None] = {}
        for p in self.params:
            if p.name in raw and raw[p.name] is not None:
                bound[p.name] = p.coerce(raw[p.name])
            elif p.required:
                raise ParameterError("missing_parameter", p.name,
                                     f"query {self.name!r} needs parameter {p.name!r} ({p.type})")
            else:
                bound[p.name] = p.default
        return bound

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "sql": self.sql,
            "mode": self.mode,
            "cache_ttl_s": self.cache_ttl_s,
            "stale_while_revalidate_s": self.stale_while_revalidate_s,
            "params": [p.to_dict() for p in self.params],
            # Only when declared, so catalogs without tags keep their bytes (and asset hashes).
            **({"cache_tags": list(self.cache_tags)} if self.cache_tags else {}),
            **({"invalidates": list(self.invalidates)} if self.invalidates else {}),
        }


@dataclass(frozen=True)
class QueryCatalog:
    """All the named queries one data endpoint serves (sorted by name).

    ``schema`` holds optional DDL statements (one per item) the data endpoint
    runs once per execution environment when bootstrapping is switched on; see
    :mod:`deploy_paradigms.runtime.data_endpoint`.
    """

    queries: tuple[NamedQuery, ...]
    schema: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        queries = tuple(self.queries)
        if not queries:
            raise CatalogError("the query catalog is empty; declare at least one NamedQuery "
                               "(see deploy_paradigms.catalog.sample_catalog() for an example)")
        for q in queries:
            if not isinstance(q, NamedQuery):
                raise CatalogError(f"catalog entries must be NamedQuery objects, got {q!r}")
        names = [q.name for q in queries]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise CatalogError(f"query name(s) {', '.join(dupes)} declared more than once; "
                               f"each URL /data/<name> must map to exactly one query, rename one")
        _check_invalidations(queries)
        schema = tuple(self.schema)
        for statement in schema:
            if not isinstance(statement, str) or not statement.strip():
                raise CatalogError("schema statements must be non-empty SQL strings")
        object.__setattr__(self, "queries", tuple(sorted(queries, key=lambda q: q.name)))
        object.__setattr__(self, "schema", schema)

    def __iter__(self) -> Iterator[NamedQuery]:
        return iter(self.queries)

    def __len__(self) -> int:
        return len(self.queries)

    def __contains__(self, name: object) -> bool:
        return any(q.name == name for q in self.queries)

    def get(self, name: str) -> NamedQuery | None:
        for q in self.queries:
            if q.name == name:
                return q
        return None

    def __getitem__(self, name: str) -> NamedQuery:
        query = self.get(name)
        if query is None:
            raise KeyError(name)
        return query

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(q.name for q in self.queries)

    def to_dict(self) -> dict[str, Any]:
        return {"format": CATALOG_FORMAT, "queries": [q.to_dict() for q in self.queries],
                "schema": list(self.schema)}

    def to_json(self) -> str:
        """Deterministic JSON (sorted keys, ASCII, trailing newline): same catalog, same bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2, ensure_ascii=True) + "\n"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QueryCatalog:
        if not isinstance(data, Mapping):
            raise CatalogError("catalog JSON must be an object with 'format' and 'queries'")
        _check_keys("catalog", data, required={"format", "queries"}, optional={"schema"})
        if data["format"] != CATALOG_FORMAT:
            raise CatalogError(f"catalog format {data['format']!r} is not supported (expected "
                               f"{CATALOG_FORMAT}); rebuild the asset with this version of deploy-paradigms")
        raw_queries = data["queries"]
        if not isinstance(raw_queries, list):
            raise CatalogError("catalog 'queries' must be a list")
        queries = []
        for i, rq in enumerate(raw_queries):
            where = f"queries[{i}]"
            if not isinstance(rq, Mapping):
                raise CatalogError(f"{where} must be an object")
            _check_keys(where, rq, required={"name", "sql"},
                        optional={"mode", "cache_ttl_s", "stale_while_revalidate_s", "params",
                                  "cache_tags", "invalidates"})
            raw_params = rq.get("params", [])
            if not isinstance(raw_params, list):
                raise CatalogError(f"{where}.params must be a list")
            params = []
            for j, rp in enumerate(raw_params):
                pwhere = f"{where}.params[{j}]"
                if not isinstance(rp, Mapping):
                    raise CatalogError(f"{pwhere} must be an object")
                _check_keys(pwhere, rp, required={"name", "type"},
                            optional={"required", "max_length", "min_value", "max_value", "default"})
                params.append(QueryParam(
                    name=rp["name"], type=rp["type"], required=rp.get("required", True),
                    max_length=rp.get("max_length"), min_value=rp.get("min_value"),
                    max_value=rp.get("max_value"), default=rp.get("default")))
            queries.append(NamedQuery(
                name=rq["name"], sql=rq["sql"], params=tuple(params),
                mode=cast(Mode, rq.get("mode", "read")), cache_ttl_s=rq.get("cache_ttl_s", 0),
                stale_while_revalidate_s=rq.get("stale_while_revalidate_s", 0),
                cache_tags=tuple(rq.get("cache_tags", ())), invalidates=tuple(rq.get("invalidates", ()))))
        schema = data.get("schema", [])
        if not isinstance(schema, list):
            raise CatalogError("catalog 'schema' must be a list of SQL statements")
        return cls(tuple(queries), tuple(schema))

    @classmethod
    def from_json(cls, text: str | bytes) -> QueryCatalog:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise CatalogError(f"catalog JSON is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _check_invalidations(queries: tuple[NamedQuery, ...]) -> None:
    """Refuse a write that invalidates a tag no read carries: it would cost an invalidation and
    refresh nothing (usually a typo, or a read that forgot its tags)."""
    read_templates = [t for q in queries if q.mode == "read" for t in q.tag_templates]
    shapes = {t.shape for t in read_templates}
    for query in queries:
        for template in query.tag_templates if query.mode == "write" else ():
            if template.shape in shapes:
                continue
            if not template.fields and any(t.matches_literal(template.text) for t in read_templates):
                continue
            declared = sorted({t.text for t in read_templates})
            raise CatalogError(
                f"query {query.name!r}: invalidates {template.text!r}, but no read declares that tag "
                f"(reads declare: {', '.join(declared) or 'none'}); add cache_tags=[{template.text!r}] "
                f"(with the read's own parameter or {{row.column}} names) to the reads it changes, or "
                f"fix the tag")


def _check_keys(where: str, data: Mapping[str, Any], *, required: set[str], optional: set[str]) -> None:
    missing = sorted(required - set(data))
    unknown = sorted(set(data) - required - optional)
    if missing:
        raise CatalogError(f"{where} is missing {', '.join(missing)}")
    if unknown:
        raise CatalogError(f"{where} has unknown key(s) {', '.join(unknown)}; "
                           f"allowed: {', '.join(sorted(required | optional))}")


# --------------------------------------------------------------------------- the Edge example

#: The table the sample catalog reads and writes, per SQL dialect. The data endpoint
#: creates it when started with DATA_ENDPOINT_BOOTSTRAP_SCHEMA=true (the Edge example
#: does; real applications should use migrations instead).
SAMPLE_SCHEMA_STATEMENTS: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS posts (\n"
    "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
    "    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),\n"
    "    body text NOT NULL CHECK (char_length(body) <= 10000),\n"
    "    created_at timestamptz NOT NULL DEFAULT now()\n"
    ")",
    "CREATE INDEX IF NOT EXISTS posts_created_at_idx ON posts (created_at DESC, id DESC)",
)
#: MySQL 8 and MariaDB: AUTO_INCREMENT instead of identity columns, DATETIME(6) in UTC instead
#: of timestamptz, the index inside CREATE TABLE (MySQL has no CREATE INDEX IF NOT EXISTS).
SAMPLE_SCHEMA_STATEMENTS_MYSQL: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS posts (\n"
    "    id bigint NOT NULL AUTO_INCREMENT PRIMARY KEY,\n"
    "    title varchar(200) NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),\n"
    "    body text NOT NULL CHECK (char_length(body) <= 10000),\n"
    "    created_at datetime(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),\n"
    "    INDEX posts_created_at_idx (created_at DESC, id DESC)\n"
    ")",
)
SAMPLE_SCHEMA_SQL = "".join(statement + ";\n" for statement in SAMPLE_SCHEMA_STATEMENTS)


def sample_catalog(engine: str = "postgres", *, writes: bool = True) -> QueryCatalog:
    """The Edge example's catalog: two cached, tagged reads and (``writes``) two writes over ``posts``.

    Reads are cached 60 s and may be served stale for 300 s more while
    CloudFront revalidates, so a burst of edge traffic costs the database about
    one query per minute per distinct URL. Writes invalidate what they change:
    ``create_post`` the lists (tag ``posts``), ``update_post`` the lists and
    that post (``post:{id}``), so readers see a write within the invalidation's
    latency instead of up to 360 s later.

    ``engine`` picks the SQL dialect (any name :func:`deploy_paradigms.budget.parse_engine`
    knows): PostgreSQL's, or the MySQL family's, where the writes return no row (MySQL has no
    ``RETURNING``). ``writes=False`` leaves the writes out: a catalog behind a public
    distribution with no signed callers should be read-only.
    """
    from .budget import parse_engine

    postgres = parse_engine(engine).is_postgres
    returning = " RETURNING id, title, body, created_at" if postgres else ""
    reads = (
        NamedQuery(
            name="recent_posts",
            sql="SELECT id, title, body, created_at FROM posts "
                "ORDER BY created_at DESC, id DESC LIMIT :limit",
            params=(QueryParam("limit", "int", required=False, default=10, min_value=1, max_value=100),),
            cache_ttl_s=60,
            stale_while_revalidate_s=300,
            cache_tags=("posts",),
        ),
        NamedQuery(
            name="post_by_id",
            sql="SELECT id, title, body, created_at FROM posts WHERE id = :id",
            params=(QueryParam("id", "int", min_value=1),),
            cache_ttl_s=60,
            stale_while_revalidate_s=300,
            cache_tags=("post:{id}",),
        ),
    )
    write_queries = (
        NamedQuery(
            name="create_post",
            sql="INSERT INTO posts (title, body) VALUES (:title, :body)" + returning,
            params=(QueryParam("title", "str", max_length=200),
                    QueryParam("body", "str", max_length=10000)),
            mode="write",
            invalidates=("posts",),
        ),
        NamedQuery(
            name="update_post",
            sql="UPDATE posts SET title = :title, body = :body WHERE id = :id" + returning,
            params=(QueryParam("id", "int", min_value=1),
                    QueryParam("title", "str", max_length=200),
                    QueryParam("body", "str", max_length=10000)),
            mode="write",
            invalidates=("posts", "post:{id}"),
        ),
    )
    return QueryCatalog(
        queries=(*reads, *write_queries) if writes else reads,
        schema=SAMPLE_SCHEMA_STATEMENTS if postgres else SAMPLE_SCHEMA_STATEMENTS_MYSQL,
    )
