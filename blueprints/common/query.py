"""The AnimeThemes-style query layer, written once for every resource.

A resource is described by a :class:`ResourceSchema`: its JSON keys, its attributes (with the
SQL column each reads, its type, whether it may be filtered and sorted), its default fields and
its relations (includes). From the request's ``include``, ``fields[<type>]``, ``filter[...]``,
``sort`` and ``page[...]`` parameters the layer validates (422 in the AnimeThemes shape through
:class:`domain.ValidationFailed`), builds one SQL statement for the page (a "deferred join": the
page's ids come from an index-only subquery, then the rows by id), one more per include level,
and serialises plain rows, so a list costs the same few queries whatever its size.

Example (a new resource is a schema, not a parser)::

    ANIME = ResourceSchema(
        type="anime", singular="anime", plural="anime", table=Anime.__table__,
        attributes=[Attribute("anime_id", Anime.id, "int"), Attribute("name", Anime.name), ...],
        sorts=("name", "year"), filters=("name", "year"),
    )
    ANIME.add_relation(Relation("images", "image", pivot=(anime_image.c.anime_id, anime_image.c.image_id)))
    body = list_resources(ANIME, request.args)                      # {"anime": [...], "links", "meta"}
    body = show_resource(ANIME, Anime.slug == slug, request.args)   # {"anime": {...}}

Another module may add relations to a registered schema (``schema("image").add_relation(...)``);
a relation's ``visible(ctx)`` hook returns an extra WHERE clause per caller, so that, for example,
only public playlists and the caller's own appear in ``include=playlists``. A schema's own
``visible(ctx)`` hook narrows every list, show and include of that resource (images that only
private playlists use), except through a relation whose parent already grants it
(``parent_grants_visibility``: a playlist one may open shows its own cover). ``base_filter``
narrows a list before any parameter applies (only public playlists, one playlist's tracks).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import quote

import orjson
from flask import Flask, Response, g, has_app_context, request, url_for
from flask_login import current_user
from sqlalchemy import BigInteger, ColumnElement, Integer, SmallInteger, String, Table, and_, any_, bindparam, func, literal_column, not_, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.sql.util import find_tables
from werkzeug.routing import BaseConverter

from domain import NotFound, ValidationFailed
from extensions import db
from models.base import isoformat

DEFAULT_PAGE_SIZE = 15
MAX_PAGE_SIZE = 100
OPERATORS = {"eq", "ne", "lt", "gt", "lte", "gte", "like", "notlike"}
OPERATORS_BY_KIND = {
    "int": {"eq", "ne", "lt", "gt", "lte", "gte"},
    "float": {"eq", "ne", "lt", "gt", "lte", "gte"},
    "datetime": {"eq", "ne", "lt", "gt", "lte", "gte"},
    "str": {"eq", "ne", "like", "notlike"},
    "enum": {"eq", "ne"},
    "bool": {"eq", "ne"},
}
PARENT_KEY = "__parent"
# The largest page number: its OFFSET must fit the databases' 64-bit LIMIT/OFFSET at any page size.
MAX_PAGE_NUMBER = 2**31 - 1


@dataclass(frozen=True)
class QueryContext:
    """Who is asking (for visibility hooks)."""

    user_id: int | None = None
    is_admin: bool = False

    @classmethod
    def current(cls) -> "QueryContext":
        if current_user and current_user.is_authenticated:
            return cls(user_id=current_user.id, is_admin=current_user.is_admin)
        return cls()


@dataclass
class Attribute:
    """One JSON field. ``column`` is what it reads; ``compute`` builds a value from the row instead."""

    name: str
    column: ColumnElement | None = None
    kind: str = "str"  # int | float | str | bool | datetime | enum
    choices: tuple[str, ...] = ()
    compute: Callable[[Mapping[str, Any]], Any] | None = None
    needs: tuple[ColumnElement, ...] = ()  # columns a computed value reads


@dataclass
class Relation:
    """An include. Exactly one of ``local_key`` (many-to-one: the parent's column holding the child
    id), ``remote_key`` (one-to-many: the child's column holding the parent id), ``pivot``
    (many-to-many: (pivot column of the parent id, pivot column of the child id)) is set."""

    name: str
    target: str  # the type of the related schema
    local_key: ColumnElement | None = None
    remote_key: ColumnElement | None = None
    pivot: tuple[ColumnElement, ColumnElement] | None = None
    visible: Callable[[QueryContext], ColumnElement | None] | None = None
    order_by: Callable[[], list[ColumnElement]] | None = None
    parent_grants_visibility: bool = False  # skip the target schema's own visible hook
    # Columns of a many-to-many pivot shown on each related body under ``pivot_name``
    # (a song's artists carry {"artistsong": {"as": ..., "alias": ...}}).
    pivot_name: str | None = None
    pivot_attributes: tuple[tuple[str, ColumnElement], ...] = ()

    @property
    def many(self) -> bool:
        return self.local_key is None


@dataclass
class ResourceSchema:
    type: str  # the key of fields[...]
    singular: str  # wrapping key of one resource
    plural: str  # wrapping key of a list
    table: Table
    attributes: list[Attribute]
    sorts: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    default_fields: tuple[str, ...] | None = None  # None: every attribute
    soft_deletes: bool = True
    default_order: Callable[[], list[ColumnElement]] | None = None
    relations: dict[str, Relation] = field(default_factory=dict)
    visible: Callable[[QueryContext], ColumnElement | None] | None = None  # per caller, on every read
    # The include allow-list (upstream's allowedIncludes; intermediate paths implied). None: any
    # chain of relations that never comes back to a type already on the way.
    includes: tuple[str, ...] | None = None

    def visible_clause(self, ctx: QueryContext) -> ColumnElement | None:
        return self.visible(ctx) if self.visible is not None else None

    def __post_init__(self) -> None:
        self.by_name = {attribute.name: attribute for attribute in self.attributes}
        register(self)

    @property
    def id_column(self) -> ColumnElement:
        return self.table.c.id

    def add_relation(self, relation: Relation, *, allowed: bool = True) -> Relation:
        """Also allows it as an include when the schema declares its ``includes`` (unless ``allowed=False``)."""
        self.relations[relation.name] = relation
        _generation[0] += 1
        if allowed and self.includes is not None and relation.name not in self.includes:
            self.includes = (*self.includes, relation.name)
        return relation

    def attribute_names(self) -> list[str]:
        return [attribute.name for attribute in self.attributes]


SCHEMAS: dict[str, ResourceSchema] = {}


def register(schema: ResourceSchema) -> None:
    SCHEMAS[schema.type] = schema


def schema(type_name: str) -> ResourceSchema:
    return SCHEMAS[type_name]


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


@dataclass
class ParsedQuery:
    includes: dict[str, Any]  # nested tree: {"videos": {"anime": {}}}
    fields: dict[str, list[str]]  # type -> names
    where: list[ColumnElement]  # the listed resource's own filters
    order: list[ColumnElement]
    trashed: str  # without | with | only
    page_size: int
    page_number: int
    random: bool = False
    # Filters, trashed state and sorts that apply to included resources, by type.
    type_where: dict[str, list[ColumnElement]] = field(default_factory=dict)
    type_trashed: dict[str, str] = field(default_factory=dict)
    type_order: dict[str, list[ColumnElement]] = field(default_factory=dict)
    sort_key: str | None = None  # the sort as given (a compiled statement's key), and per type
    type_sort_key: dict[str, str] = field(default_factory=dict)


class _Errors:
    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        messages = self.errors.setdefault(key, [])
        if message not in messages:  # a global filter checked against several schemas says it once
            messages.append(message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(self.errors)


# The parameter families of the AnimeThemes-style API; any other bracketed parameter of these is a 422.
FAMILIES = ("include", "fields", "filter", "sort", "page")
BRACKETS = re.compile(r"^([a-z]+)((?:\[[^\[\]]*\])*)$")
LOGICAL = {"and", "or"}


def _parameters(args: Mapping[str, str]) -> dict[str, list[tuple[tuple[str, ...], str]]]:
    """``filter[video][resolution]=1080`` -> {"filter": [(("video", "resolution"), "1080")]}."""
    found: dict[str, list[tuple[tuple[str, ...], str]]] = {family: [] for family in FAMILIES}
    for key, value in args.items():
        match = BRACKETS.match(key)
        if match and match.group(1) in found:
            found[match.group(1)].append((tuple(re.findall(r"\[([^\[\]]*)\]", match.group(2))), value))
    return found


def parse_query(resource: ResourceSchema, args: Mapping[str, str], *, paginate: bool = True) -> ParsedQuery:
    """``paginate=False`` is a single-resource (show) request: no paging, no sorting of the resource
    itself, and filters and sorts apply only to its includes, as upstream's ShowRequest says."""
    errors = _Errors()
    params = _parameters(args)
    includes = _parse_includes(resource, args.get("include"), params["include"], errors)
    types = allowed_types(resource, show=not paginate)
    fields = _parse_fields(resource, params["fields"], types | {resource.type}, errors)
    where, trashed, type_where, type_trashed = _parse_filters(resource, params["filter"], types, errors, show=not paginate)
    order, type_order, is_random, sort_keys = _parse_sorts(resource, params["sort"], types, errors, show=not paginate)
    if paginate:
        size, number = _parse_page(params["page"], errors)
    else:
        size, number = MAX_PAGE_SIZE, 1
        if params["page"]:
            errors.add("page", "The page field is prohibited.")
    errors.raise_if_any()
    own_sort = sort_keys.pop(None, None)
    return ParsedQuery(includes, fields, where, order, trashed, size, number, is_random, type_where, type_trashed, type_order, own_sort, sort_keys)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _delimited(value: str, key: str, errors: _Errors) -> list[str] | None:
    """A comma-separated parameter: no empty entries, no duplicates (upstream's DelimitedRule)."""
    parts = [part.strip() for part in value.split(",")]
    if value.strip() == "":
        errors.add(key, f"The {key} field is required.")
        return None
    if any(not part for part in parts):
        errors.add(key, f"The selected {key} is invalid.")
        return None
    if len(set(parts)) != len(parts):
        errors.add(key, "You may not specify duplicates.")
        return None
    return parts


def include_allowed(resource: ResourceSchema, path: str) -> bool:
    """Whether ``path`` (``videos.anime``) is in the schema's allow-list: its declared ``includes``
    (each with its intermediate paths), or by default any chain of relations that never comes
    back to a type already on the way (``audio?include=videos.audio`` is not)."""
    segments = path.split(".")
    if resource.includes is not None:
        if not any(allowed.split(".")[: len(segments)] == segments for allowed in resource.includes):
            return False
    seen, current = {resource.type}, resource
    for segment in segments:
        relation = current.relations.get(segment)
        if relation is None:
            return False
        current = schema(relation.target)
        if resource.includes is None and current.type in seen:
            return False
        seen.add(current.type)
    return True


_TYPES: dict[tuple[int, bool, int], frozenset[str]] = {}
_generation = [0]  # bumped by add_relation: the allowed types are worked out again


def allowed_types(resource: ResourceSchema, *, show: bool = False) -> set[str]:
    """The types a response of this resource may contain through its allowed includes (and the
    resource's own, unless ``show``: a show request filters and sorts only its includes)."""
    key = (id(resource), show, _generation[0])
    found = _TYPES.get(key)
    if found is None:
        types: set[str] = set()
        if resource.includes is not None:
            for path in resource.includes:
                current = resource
                for segment in path.split("."):
                    relation = current.relations.get(segment)
                    if relation is None:
                        break
                    types.add(relation.target)
                    current = schema(relation.target)
        else:
            # Any type reachable at all is reachable without coming back to a type on the way
            # (a shortest path never does), except the resource's own.
            pending = [resource]
            while pending:
                current = pending.pop()
                for relation in current.relations.values():
                    if relation.target not in types and relation.target != resource.type:
                        types.add(relation.target)
                        pending.append(schema(relation.target))
        found = _TYPES[key] = frozenset(types if show else types | {resource.type})
    return set(found)


def _parse_includes(resource: ResourceSchema, value: str | None, raw: list, errors: _Errors) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    if any(keys for keys, _ in raw):
        errors.add("include", "The include field must be a string.")
        return {}
    if value is None:
        return tree
    if not resource.relations:
        errors.add("include", "The include field is prohibited.")
        return {}
    paths = _delimited(value, "include", errors)
    for path in paths or []:
        if not include_allowed(resource, path):
            errors.add("include", "The selected include is invalid.")
            return {}
        current, node = resource, tree
        for segment in path.split("."):
            node = node.setdefault(segment, {})
            current = schema(current.relations[segment].target)
    return tree


def _parse_fields(resource: ResourceSchema, raw: list, types: set[str], errors: _Errors) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for keys, value in raw:
        if len(keys) != 1:
            errors.add("fields", "The fields field must be an array of field lists keyed by type: fields[<type>]=a,b.")
            continue
        type_name = keys[0]
        label = f"fields.{type_name}"
        if type_name not in types:
            errors.add("fields", f"The fields field may only name the types of this response: {', '.join(sorted(types))}.")
            continue
        target = SCHEMAS[type_name]
        names = _delimited(value, label, errors)
        if names is None:
            continue
        if any(name not in target.by_name for name in names):
            errors.add(label, f"The selected {label} is invalid.")
            continue
        fields[type_name] = names
    return fields


def integer_range(column: ColumnElement) -> tuple[int, int]:
    """The values an integer column can hold on every supported database (PostgreSQL's sizes)."""
    column_type = column.type
    if isinstance(column_type, BigInteger):
        bits = 64
    elif isinstance(column_type, SmallInteger):
        bits = 16
    else:
        bits = 32
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


TRUE_WORDS = {"1", "true", "on", "yes"}  # PHP's FILTER_VALIDATE_BOOLEAN, as upstream's IsValidBoolean
FALSE_WORDS = {"0", "false", "off", "no"}
# Upstream's AllowedDateFormat, most precise first: Y-m-d\TH:i:s.u down to Y.
DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H", "%Y-%m-%d", "%Y-%m", "%Y")
DATE_SHAPE = re.compile(r"^\d{4}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}(\.\d{1,6})?)?)?)?)?)?$")


def _parse_date(raw: str) -> datetime:
    if DATE_SHAPE.match(raw):
        for pattern in DATE_FORMATS:
            try:
                return datetime.strptime(raw, pattern).replace(tzinfo=UTC)
            except ValueError:
                continue
        raise ValueError(raw)
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))  # also a full ISO 8601 timestamp with an offset
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _coerce(attribute: Attribute, raw: str, label: str, errors: _Errors) -> Any:
    try:
        if attribute.kind == "int":
            value = int(raw)
            low, high = integer_range(attribute.column)
            if not low <= value <= high:
                errors.add(label, f"The {label} must be between {low} and {high}.")
                return None
            return value
        if attribute.kind == "float":
            value = float(raw)
            if not math.isfinite(value):
                raise ValueError(raw)
            return value
        if attribute.kind == "bool":
            lowered = raw.strip().lower()
            if lowered not in TRUE_WORDS | FALSE_WORDS:
                raise ValueError
            return lowered in TRUE_WORDS
        if attribute.kind == "datetime":
            return _parse_date(raw)
        if attribute.kind == "enum":
            # By name, case-insensitively (upstream's EnumLocalizedNameRule).
            chosen = next((choice for choice in attribute.choices if choice.lower() == raw.strip().lower()), None)
            if chosen is None:
                errors.add(label, f"The selected {label} is invalid.")
            return chosen
        return raw
    except ValueError:
        expected = {"int": "an integer", "float": "a number", "bool": "true or false", "datetime": "a valid date"}[attribute.kind]
        errors.add(label, f"The {label} must be {expected}.")
        return None


@dataclass
class _Criterion:
    scope: str | None  # a type, or None for every schema having the filter
    name: str
    operator: str
    logical: str  # and | or
    negate: bool
    value: str
    label: str


def _criterion(keys: tuple[str, ...], value: str, errors: _Errors) -> _Criterion | None:
    label = "filter." + ".".join(keys)
    if len(keys) not in (1, 2) or not all(keys):
        errors.add("filter", "The filter field must be filter[<field>] or filter[<type>][<field>].")
        return None
    scope, param = (None, keys[0]) if len(keys) == 1 else keys
    parts = param.lower().split("-")
    name, operator, logical, negate = parts[0], "eq", "and", False
    for part in parts[1:]:
        if part in OPERATORS:
            operator = part
        elif part in LOGICAL:
            logical = part
        elif part == "not":
            negate = True
        else:
            errors.add(label, f"The {label} filter is not supported: filter[<field>], with -<operator> one of {', '.join(sorted(OPERATORS))} and -and, -or or -not.")
            return None
    return _Criterion(scope, name, operator, logical, negate, value, label)


def _combine(clauses: list[tuple[str, ColumnElement]]) -> list[ColumnElement]:
    """Criteria in the order given, each joined to the ones before by its logical operator."""
    if not clauses:
        return []
    combined = clauses[0][1]
    for logical, clause in clauses[1:]:
        combined = or_(combined, clause) if logical == "or" else and_(combined, clause)
    return [combined]


def _parse_filters(
    resource: ResourceSchema, raw: list, types: set[str], errors: _Errors, *, show: bool
) -> tuple[list[ColumnElement], str, dict[str, list[ColumnElement]], dict[str, str]]:
    criteria = [c for c in (_criterion(keys, value, errors) for keys, value in raw) if c is not None]
    schemas = [SCHEMAS[name] for name in sorted(types)]
    clauses: dict[str, list[tuple[str, ColumnElement]]] = {}
    trashed: dict[str, str] = {}
    for criterion in criteria:
        if criterion.scope is not None and criterion.scope not in types:
            errors.add(criterion.label, f"The filter type {criterion.scope} is not in this response: one of {', '.join(sorted(types))}.")
            continue
        targets = [s for s in schemas if criterion.scope in (None, s.type)]
        if criterion.name == "trashed":
            targets = [s for s in targets if s.soft_deletes]
            if not targets:
                errors.add(criterion.label, f"The {criterion.label} filter is not supported here.")
            elif criterion.value.lower() not in ("with", "only", "without"):
                errors.add("filter.trashed", "The selected filter.trashed is invalid.")
            else:
                trashed.update({s.type: criterion.value.lower() for s in targets})
            continue
        if criterion.name == "has":
            if show or criterion.scope not in (None, resource.type):
                errors.add(criterion.label, f"The {criterion.label} filter is not supported here.")
                continue
            clause = _has_clause(resource, criterion, errors)
            if clause is not None:
                clauses.setdefault(resource.type, []).append((criterion.logical, clause))
            continue
        targets = [s for s in targets if criterion.name in s.filters]
        if not targets:
            errors.add(criterion.label, f"The {criterion.label} filter is not supported for {resource.type}.")
            continue
        for target in targets:
            clause = _filter_clause(target, criterion, errors)
            if clause is not None:
                clauses.setdefault(target.type, []).append((criterion.logical, clause))
    combined = {type_name: _combine(pairs) for type_name, pairs in clauses.items()}
    own = [] if show else combined.pop(resource.type, [])
    own_trashed = "without" if show else trashed.pop(resource.type, "without")
    return own, own_trashed, combined, trashed


def _filter_clause(target: ResourceSchema, criterion: _Criterion, errors: _Errors) -> ColumnElement | None:
    attribute = target.by_name[criterion.name]
    operator = criterion.operator
    if operator not in OPERATORS_BY_KIND[attribute.kind]:
        errors.add(criterion.label, f"The {operator} operator is not supported for {criterion.name}.")
        return None
    raw_values = [criterion.value] if operator in ("like", "notlike") else _split(criterion.value)
    if not raw_values:
        errors.add(criterion.label, f"The {criterion.label} field must have a value.")
        return None
    if len(raw_values) > 1 and operator not in ("eq", "ne"):
        errors.add(criterion.label, f"The {criterion.label} filter takes one value with the {operator} operator.")
        return None
    values = [_coerce(attribute, raw, criterion.label, errors) for raw in raw_values]
    if any(v is None for v in values):
        return None
    clause = _condition(attribute.column, operator, values)
    return not_(clause) if criterion.negate else clause


def _has_clause(resource: ResourceSchema, criterion: _Criterion, errors: _Errors) -> ColumnElement | None:
    """``filter[has]=videos``: only rows with at least one (visible, not trashed) related row."""
    paths = _split(criterion.value)
    if not paths or any(not include_allowed(resource, path) for path in paths):
        errors.add(criterion.label, f"The selected {criterion.label} is invalid.")
        return None
    clauses = [_exists_path(resource, path.split(".")) for path in paths]
    clause = and_(*clauses)
    return not_(clause) if criterion.negate else clause


def _exists_path(parent: ResourceSchema, segments: list[str]) -> ColumnElement:
    relation = parent.relations[segments[0]]
    target = schema(relation.target)
    conditions: list[ColumnElement] = []
    if relation.local_key is not None:
        conditions.append(target.id_column == relation.local_key)
        statement = select(target.id_column)
    elif relation.remote_key is not None:
        conditions.append(relation.remote_key == parent.id_column)
        statement = select(target.id_column)
    else:
        parent_column, child_column = relation.pivot
        statement = select(target.id_column).join_from(target.table, child_column.table, child_column == target.id_column)
        conditions.append(parent_column == parent.id_column)
    hidden = _trashed_clause(target, "without")
    if hidden is not None:
        conditions.append(hidden)
    if len(segments) > 1:
        conditions.append(_exists_path(target, segments[1:]))
    return statement.where(*conditions).exists()


def _condition(column: ColumnElement, operator: str, values: list[Any]) -> ColumnElement:
    if operator == "like":
        return column.ilike(values[0])
    if operator == "notlike":
        return not_(column.ilike(values[0]))
    if operator in ("eq", "ne"):
        clause = column.in_(values) if len(values) > 1 else column == values[0]
        return not_(clause) if operator == "ne" else clause
    first = values[0]
    return {"lt": column < first, "gt": column > first, "lte": column <= first, "gte": column >= first}[operator]


def _sort_list(target: ResourceSchema, value: str, label: str, errors: _Errors) -> tuple[list[ColumnElement], bool] | None:
    parts = [part.strip() for part in value.split(",")]
    if value.strip() == "" or any(not part for part in parts):
        errors.add(label, f"The selected {label} is invalid.")  # an empty entry: "sort=,,," or "sort=name,"
        return None
    names = [part[1:] if part.startswith("-") else part for part in parts]
    if len(set(names)) != len(names):
        errors.add(label, f"The {label} field has a duplicate value.")  # upstream's DistinctIgnoringDirectionRule
        return None
    if "random" in names:
        if len(names) > 1:
            errors.add(label, f"The {label} field prohibits random unless it is the sole value.")
            return None
        if parts[0] != "random":
            errors.add(label, f"The selected {label} is invalid.")  # random has no direction
            return None
        return [func.random()], True
    order: list[ColumnElement] = []
    for part, name in zip(parts, names):
        if name not in target.sorts:
            errors.add(label, f"The selected {label} is invalid.")
            return None
        column = target.by_name[name].column
        order.append(column.desc() if part.startswith("-") else column.asc())
    return order, False


def _parse_sorts(
    resource: ResourceSchema, raw: list, types: set[str], errors: _Errors, *, show: bool
) -> tuple[list[ColumnElement], dict[str, list[ColumnElement]], bool, dict[str | None, str]]:
    """``sort=-name`` sorts the list; ``sort[<type>]=...`` sorts the included resources of that type."""
    order: list[ColumnElement] = []
    by_type: dict[str, list[ColumnElement]] = {}
    sort_keys: dict[str | None, str] = {}
    is_random = False
    for keys, value in raw:
        if not keys:
            if show:
                errors.add("sort", "The sort field must be an array keyed by included type: sort[<type>]=...")
                continue
            parsed = _sort_list(resource, value, "sort", errors)
            if parsed is not None:
                order, is_random = parsed
                sort_keys[None] = value
            continue
        if len(keys) != 1 or keys[0] not in types:
            errors.add("sort", f"The sort field may only name the types of this response: {', '.join(sorted(types)) or 'none'}.")
            continue
        type_name = keys[0]
        parsed = _sort_list(SCHEMAS[type_name], value, f"sort.{type_name}", errors)
        if parsed is None:
            continue
        if type_name == resource.type and not show:
            order, is_random = parsed
            sort_keys[None] = value
        else:
            by_type[type_name] = parsed[0]
            sort_keys[type_name] = value
    return order, by_type, is_random, sort_keys


def _parse_page(raw: list, errors: _Errors) -> tuple[int, int]:
    values: dict[str, str] = {}
    for keys, value in raw:
        if len(keys) != 1 or keys[0] not in ("size", "number"):
            label = "page" + "".join(f".{key}" for key in keys)
            errors.add(label, "Only page[size] and page[number] are supported.")
            continue
        values[keys[0]] = value

    def number(key: str, default: int, maximum: int) -> int:
        raw_value = values.get(key)
        label = f"page.{key}"
        if raw_value is None or raw_value == "":
            return default
        try:
            value = int(raw_value)
        except ValueError:
            errors.add(label, f"The {label} must be an integer.")
            return default
        if value < 1:
            errors.add(label, f"The {label} must be at least 1.")
        elif value > maximum:
            errors.add(label, f"The {label} must not be greater than {maximum}.")
        return value

    return number("size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE), number("number", 1, MAX_PAGE_NUMBER)


def page_argument(args: Mapping[str, str], key: str = "page") -> int:
    """The HTML pages' ``?page=``: anything not a page number is page 1; a number no list can reach is 404."""
    raw = args.get(key, "")
    if not raw.isdecimal():
        return 1
    if len(raw) > len(str(MAX_PAGE_NUMBER)) or int(raw) > MAX_PAGE_NUMBER:
        raise NotFound(f"There is no page {raw[:20]}.")
    return max(1, int(raw))


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


_TRASHED: dict[tuple[int, str], ColumnElement | None] = {}


def _trashed_clause(resource: ResourceSchema, trashed: str) -> ColumnElement | None:
    key = (id(resource), trashed)
    if key not in _TRASHED:  # built once: a clause is immutable, and building one costs more than reusing it
        clause = None
        if resource.soft_deletes:
            deleted_at = resource.table.c.deleted_at
            clause = deleted_at.is_not(None) if trashed == "only" else deleted_at.is_(None) if trashed == "without" else None
        _TRASHED[key] = clause
    return _TRASHED[key]


def _columns_for(resource: ResourceSchema, names: Iterable[str], relations: Iterable[Relation]) -> list[ColumnElement]:
    columns: dict[str, ColumnElement] = {"id": resource.id_column}
    for name in names:
        attribute = resource.by_name[name]
        for column in ((attribute.column,) if attribute.column is not None else ()) + attribute.needs:
            columns[column.key] = column
    for relation in relations:
        if relation.local_key is not None:
            columns[relation.local_key.key] = relation.local_key
    return list(columns.values())


def _selected_names(resource: ResourceSchema, parsed: ParsedQuery) -> list[str]:
    if resource.type in parsed.fields:
        return parsed.fields[resource.type]
    return list(resource.default_fields or resource.attribute_names())


_PLANS: dict[tuple[int, tuple[str, ...]], list[tuple[str, str | None, str, Callable | None]]] = {}


def _plan(resource: ResourceSchema, names: Iterable[str]) -> list[tuple[str, str | None, str, Callable | None]]:
    """(name, row key, kind, compute) of the wanted attributes in schema order, worked out once."""
    wanted = tuple(names)
    key = (id(resource), wanted)
    plan = _PLANS.get(key)
    if plan is None:
        chosen = set(wanted)
        plan = _PLANS[key] = [
            (a.name, a.column.key if a.column is not None else None, a.kind, a.compute) for a in resource.attributes if a.name in chosen
        ]
    return plan


def _timestamp(value: Any) -> str | None:
    """A datetime as the API writes it; SQLite's driver hands back SQLAlchemy's stored text
    ("2024-01-15 12:00:00.000000", UTC) when rows are read on the driver's cursor."""
    if value is None or isinstance(value, datetime):
        return isoformat(value)
    text = str(value).replace(" ", "T", 1)
    if len(text) == 19:
        text += ".000000"
    return text[:26] + "Z"


def serialize_rows(resource: ResourceSchema, rows: Iterable[Mapping[str, Any]], names: Iterable[str]) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts; computed attributes with a ``bind`` (links) are set up once for the list."""
    plan = [
        (name, key, kind, compute.bind() if compute is not None and hasattr(compute, "bind") else compute)
        for name, key, kind, compute in _plan(resource, names)
    ]
    return [_serialize(plan, row) for row in rows]


def serialize_row(resource: ResourceSchema, row: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """A row as JSON-ready dict, keys in schema order."""
    return serialize_rows(resource, [row], names)[0]


def _serialize(plan, row: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, key, kind, compute in plan:
        if compute is not None:
            body[name] = compute(row)
            continue
        value = row[key]
        if kind == "datetime":
            value = _timestamp(value)
        elif kind == "bool" and value is not None:
            value = bool(value)  # SQLite's driver answers 0/1
        body[name] = value
    return body


def _load_includes(
    resource: ResourceSchema,
    rows: list[Mapping[str, Any]],
    bodies: list[dict[str, Any]],
    tree: Mapping[str, Any],
    parsed: ParsedQuery,
    ctx: QueryContext,
) -> None:
    """One query per relation and level, whatever the number of rows."""
    if not rows:
        for body in bodies:
            for name in tree:
                body[name] = [] if resource.relations[name].many else None
        return
    for name, children_tree in tree.items():
        relation = resource.relations[name]
        target = schema(relation.target)
        names = _selected_names(target, parsed)
        child_relations = [target.relations[child] for child in children_tree]
        columns = _columns_for(target, names, child_relations)
        if relation.local_key is not None:
            ids = {row[relation.local_key.key] for row in rows} - {None}
            parent_of = None
        else:
            ids = {row["id"] for row in rows}
            parent_of = PARENT_KEY
        trashed = parsed.type_trashed.get(target.type, "without")
        where = parsed.type_where.get(target.type, ())  # filters narrow includes too
        visibility = [relation.visible(ctx) if relation.visible is not None else None]
        if not relation.parent_grants_visibility:
            visibility.append(target.visible_clause(ctx))
        visibility = [clause for clause in visibility if clause is not None]

        def build(dialect: str, relation=relation, target=target, columns=columns, trashed=trashed, where=where, visibility=visibility):
            if relation.local_key is not None:
                statement = select(*columns).where(_in_ids(target.id_column, dialect))
            elif relation.remote_key is not None:
                statement = select(*columns, relation.remote_key.label(PARENT_KEY)).where(_in_ids(relation.remote_key, dialect))
            else:
                parent_column, child_column = relation.pivot
                pivot_columns = [column.label(f"__pivot_{key}") for key, column in relation.pivot_attributes]
                statement = (
                    select(*columns, parent_column.label(PARENT_KEY), *pivot_columns)
                    .join_from(target.table, child_column.table, child_column == target.id_column)
                    .where(_in_ids(parent_column, dialect))
                )
            hidden = _trashed_clause(target, trashed)
            if hidden is not None:
                statement = statement.where(hidden)
            statement = statement.where(*where, *visibility)
            order = relation.order_by() if relation.order_by else (target.default_order() if target.default_order else [target.id_column])
            return statement.order_by(*parsed.type_order.get(target.type, ()), *order)

        # Statements whose only values are the ids are compiled once and run on the driver's cursor.
        shape = None
        if not where and not visibility:
            pivot_keys = tuple(key for key, _ in relation.pivot_attributes)
            shape = ("include", id(resource), name, tuple(names), tuple(children_tree), trashed, parsed.type_sort_key.get(target.type), relation.pivot_name, pivot_keys)
        child_rows = _execute(shape, build, {"ids": ids}) if ids else []
        child_bodies = serialize_rows(target, child_rows, names)
        if relation.pivot_name:
            for row, body in zip(child_rows, child_bodies):
                body[relation.pivot_name] = {key: row[f"__pivot_{key}"] for key, _ in relation.pivot_attributes}
        if children_tree:
            _load_includes(target, child_rows, child_bodies, children_tree, parsed, ctx)
        if parent_of is None:
            by_id = {row["id"]: body for row, body in zip(child_rows, child_bodies)}
            for row, body in zip(rows, bodies):
                body[name] = by_id.get(row[relation.local_key.key])
        else:
            grouped: dict[Any, list[dict]] = {}
            for row, body in zip(child_rows, child_bodies):
                grouped.setdefault(row[parent_of], []).append(body)
            for row, body in zip(rows, bodies):
                body[name] = grouped.get(row["id"], [])


def _base_statement(resource: ResourceSchema, parsed: ParsedQuery, base_filter: ColumnElement | None) -> list[ColumnElement]:
    clauses = list(parsed.where)
    trashed = _trashed_clause(resource, parsed.trashed)
    if trashed is not None:
        clauses.append(trashed)
    if base_filter is not None:
        clauses.append(base_filter)
    return clauses


def list_resources(
    resource: ResourceSchema,
    args: Mapping[str, str],
    *,
    base_filter: ColumnElement | None = None,
    ctx: QueryContext | None = None,
    default_order: list[ColumnElement] | None = None,
) -> dict[str, Any]:
    """The whole list response body: ``{plural: [...], "links": {...}, "meta": {...}}``."""
    parsed = parse_query(resource, args)
    ctx = ctx or QueryContext.current()
    visible = resource.visible_clause(ctx)
    if visible is not None:
        base_filter = visible if base_filter is None else and_(base_filter, visible)
    rows, has_more = fetch_page(resource, parsed, base_filter=base_filter, default_order=default_order)
    names = _selected_names(resource, parsed)
    bodies = serialize_rows(resource, rows, names)
    _load_includes(resource, rows, bodies, parsed.includes, parsed, ctx)
    return {resource.plural: bodies, **pagination(parsed, len(rows), has_more)}


def fetch_page(
    resource: ResourceSchema,
    parsed: ParsedQuery,
    *,
    base_filter: ColumnElement | None = None,
    default_order: list[ColumnElement] | None = None,
) -> tuple[list[Mapping[str, Any]], bool]:
    """The page's rows (one statement) and whether another page follows."""
    clauses = _base_statement(resource, parsed, base_filter)
    fallback = default_order or (resource.default_order() if resource.default_order else [])
    order = [*parsed.order, *fallback, resource.id_column.asc()]  # the id keeps pages stable
    offset = (parsed.page_number - 1) * parsed.page_size
    names = _selected_names(resource, parsed)
    relations = [resource.relations[name] for name in parsed.includes]
    columns = _columns_for(resource, names, relations)
    limit, start = bindparam("page_limit", type_=Integer), bindparam("page_offset", type_=Integer)

    def build(dialect: str):
        if parsed.random:
            return select(*columns).where(*clauses).order_by(*order).limit(limit).offset(start)
        # Deferred join: the subquery walks only the index to find the page's ids; rows are read by id.
        page_ids = select(resource.id_column.label("page_id")).where(*clauses).order_by(*order).limit(limit).offset(start).subquery()
        return select(*columns).join(page_ids, page_ids.c.page_id == resource.id_column).order_by(*order)

    # A page without filters (the common case) is one statement compiled once, run on the driver's cursor.
    shape = None
    if not clauses_with_values(resource, parsed, base_filter) and default_order is None:
        shape = ("page", id(resource), tuple(names), tuple(parsed.includes), parsed.trashed, parsed.sort_key, parsed.random)
    rows = _execute(shape, build, {"page_limit": parsed.page_size + 1, "page_offset": offset})
    has_more = len(rows) > parsed.page_size
    return rows[: parsed.page_size], has_more


def pagination(parsed: ParsedQuery, count: int, has_more: bool) -> dict[str, Any]:
    path = request.base_url
    offset = (parsed.page_number - 1) * parsed.page_size
    return {
        "links": {
            "first": page_url(1),
            "last": None,  # no total count: it would cost a full scan per request
            "prev": page_url(parsed.page_number - 1) if parsed.page_number > 1 else None,
            "next": page_url(parsed.page_number + 1) if has_more else None,
        },
        "meta": {
            "current_page": parsed.page_number,
            "from": offset + 1 if count else None,
            "to": offset + count if count else None,
            "path": path,
            "per_page": parsed.page_size,
        },
    }


def page_url(number: int) -> str:
    """This request's absolute URL with page[number] replaced and every other parameter kept."""
    params = [(key, value) for key, value in request.args.items(multi=True) if key != "page[number]"]
    params.append(("page[number]", str(number)))
    query = "&".join(f"{quote(key, safe='[]')}={quote(value, safe='[],-/:')}" for key, value in params)
    return f"{request.base_url}?{query}"


def show_resource(
    resource: ResourceSchema,
    where: ColumnElement,
    args: Mapping[str, str],
    *,
    ctx: QueryContext | None = None,
    not_found: str | None = None,
) -> dict[str, Any]:
    """``{singular: {...}}`` for the one row matching ``where``, soft-deleted or not, with its includes
    narrowed by the include-scoped filters and sorts."""
    parsed = parse_query(resource, args, paginate=False)
    ctx = ctx or QueryContext.current()
    names = _selected_names(resource, parsed)
    relations = [resource.relations[name] for name in parsed.includes]
    clauses = [where]  # a soft-deleted row is still shown (upstream's show binds withTrashed)
    visible = resource.visible_clause(ctx)
    if visible is not None:
        clauses.append(visible)
    found = _rows(select(*_columns_for(resource, names, relations)).where(*clauses).limit(1))
    row = found[0] if found else None
    if row is None:
        raise NotFound(not_found or f"No query results for model [{resource.singular.title()}]")
    rows = [row]
    bodies = [serialize_row(resource, row, names)]
    _load_includes(resource, rows, bodies, parsed.includes, parsed, ctx)
    return {resource.singular: bodies[0]}


def read_connection() -> Connection:
    """The request's one pooled connection for API reads, in autocommit: a read needs no
    BEGIN/ROLLBACK round trips, and one checkout serves the cache check and every query."""
    connection = g.get("_read_connection")
    if connection is None:
        connection = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        g._read_connection = connection
    return connection


def _close_read_connection(exc: BaseException | None = None) -> None:
    connection = g.pop("_read_connection", None)
    if connection is not None:
        connection.close()


def register_query_layer(app: Flask) -> None:
    app.teardown_appcontext(_close_read_connection)


def clauses_with_values(resource: ResourceSchema, parsed: ParsedQuery, base_filter: ColumnElement | None) -> bool:
    """Whether the page's WHERE carries values of its own (filters, a caller's visibility)."""
    return bool(parsed.where) or base_filter is not None


def _in_ids(column: ColumnElement, dialect: str) -> ColumnElement:
    """``column IN (the ids)`` with the whole list as one bound value, so that one compiled
    statement serves any number of ids: an array on PostgreSQL, a JSON array on SQLite."""
    if dialect == "postgresql":
        return column == any_(bindparam("ids", type_=ARRAY(Integer)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(bindparam("ids", type_=String))))


def _ids_value(ids: Iterable[Any], dialect: str) -> Any:
    return list(ids) if dialect == "postgresql" else orjson.dumps(list(ids)).decode()


@dataclass
class _Compiled:
    sql: str
    order: tuple[str, ...] | None  # positional drivers: the parameters' order
    literals: dict[str, Any]
    keys: list[str]
    tables: set[str]


_COMPILED: dict[tuple, _Compiled] = {}


def _execute(shape: tuple | None, build: Callable[[str], Any], params: dict[str, Any]) -> list[Mapping[str, Any]]:
    """Runs ``build(dialect)``'s statement with ``params``. With a ``shape`` (a key for everything
    the statement depends on but ``params``) it is compiled once per process and dialect and run on
    the driver's own cursor: SQLAlchemy's per-execution work (building the statement, its cache
    key, execution context, result objects) cost more than the database did."""
    connection = read_connection()
    dialect = connection.dialect.name
    if "ids" in params:
        params = {**params, "ids": _ids_value(params["ids"], dialect)}
    if shape is None:
        statement = build(dialect)
        record_reads(statement)
        return list(connection.execute(statement, params).mappings())
    compiled = _COMPILED.get((dialect, shape))
    if compiled is None:
        statement = build(dialect)
        done = statement.compile(dialect=connection.dialect)
        compiled = _COMPILED[(dialect, shape)] = _Compiled(
            sql=str(done),
            order=tuple(done.positiontup) if done.positional else None,
            literals={name: bind.value for bind, name in done.bind_names.items() if not bind.required and name not in params},
            keys=[column.key for column in statement.selected_columns],
            tables={table.name for table in find_tables(statement) if isinstance(table, Table)},
        )
    tables = g.get("_tables_read") if has_app_context() else None
    if tables is not None:
        tables.update(compiled.tables)
    bound = {**compiled.literals, **params}
    arguments = tuple(bound[name] for name in compiled.order) if compiled.order is not None else bound
    cursor = connection.connection.driver_connection.cursor()
    try:
        if connection._has_events or connection.engine._has_events:  # query counters in tests see it too
            connection.dispatch.before_cursor_execute(connection, cursor, compiled.sql, arguments, None, False)
        cursor.execute(compiled.sql, arguments)
        keys = compiled.keys
        return [dict(zip(keys, row)) for row in cursor.fetchall()]
    finally:
        cursor.close()


def _rows(statement) -> list[Mapping[str, Any]]:
    record_reads(statement)
    return list(read_connection().execute(statement).mappings())


def record_reads(statement) -> None:
    """Remembers the tables a SELECT reads while a cached view is being built (see
    blueprints/common/cache.py); does nothing otherwise."""
    if not has_app_context():
        return
    tables = g.get("_tables_read")
    if tables is not None:
        tables.update(table.name for table in find_tables(statement) if isinstance(table, Table))


def json_response(body: Mapping[str, Any], status: int = 200) -> Response:
    """orjson: several times faster than the standard library on a page of rows."""
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


_URL_PLACEHOLDER = "\x00"
_URL_SAFE = re.compile(r"[A-Za-z0-9_.~!$&'()*+,/:;=@-]*")  # what werkzeug's converters leave unquoted


def stream_link(endpoint: str, argument: str) -> Callable[[Mapping[str, Any]], str]:
    """A computed ``link`` attribute: ``url_for(endpoint, argument=row[argument], _external=True)``,
    but with the URL built once per list (``link.bind()``) and only the row's (quoted) value put in per row."""
    quote_value = BaseConverter.to_url

    def bind() -> Callable[[Mapping[str, Any]], str]:
        built = url_for(endpoint, _external=True, **{argument: _URL_PLACEHOLDER})
        prefix, suffix = built.split(quote_value(None, _URL_PLACEHOLDER), 1)
        safe = _URL_SAFE.fullmatch

        def bound(row: Mapping[str, Any]) -> str:
            value = row[argument]
            return prefix + (value if safe(value) else quote_value(None, value)) + suffix

        return bound

    def link(row: Mapping[str, Any]) -> str:
        return bind()(row)

    link.bind = bind
    return link


def search_clause(columns: Iterable[ColumnElement], text: str) -> ColumnElement:
    """Case-insensitive "contains" over several columns (for the HTML search boxes)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))
