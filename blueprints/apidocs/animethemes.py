"""The AnimeThemes-style family, generated from where each resource is declared: the query
layer's schemas (blueprints/*/schemas.py: attributes, filters, sorts, includes) and the
catalogue's write rules (blueprints/catalogue/services.py). A new resource needs no edit here."""
from __future__ import annotations

import re
from typing import Any

from blueprints.apidocs.openapi import (
    SIGNED_IN,
    add,
    error_responses,
    json_body,
    json_response,
    nullable,
    operation,
    path,
    query,
    ref,
)
from blueprints.catalogue.services import SLUG, CataloguePivot, CatalogueResource, WritableField
from blueprints.common.query import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_NUMBER,
    MAX_PAGE_SIZE,
    OPERATORS_BY_KIND,
    SCHEMAS,
    Attribute,
    ResourceSchema,
    allowed_types,
    include_allowed,
    integer_range,
)

ERROR = "AnimeThemesError"
INCLUDE_DEPTH = 2  # the document lists allowed paths this deep
TIMESTAMP_EXAMPLE = "2024-01-15T12:00:00.000000Z"


def schema_name(type_name: str) -> str:
    return type_name[:1].upper() + type_name[1:]


# --- resource objects -------------------------------------------------------------------------


def attribute_schema(attribute: Attribute) -> dict:
    column = attribute.column
    if attribute.kind == "int":
        schema: dict = {"type": "integer"}
        if column is not None:
            low, high = integer_range(column)
            schema |= {"minimum": low, "maximum": high}
    elif attribute.kind == "float":
        schema = {"type": "number"}
    elif attribute.kind == "bool":
        schema = {"type": "boolean"}
    elif attribute.kind == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif attribute.kind == "enum":
        schema = {"enum": list(attribute.choices)}
    else:
        schema = {"type": "string"}
    if attribute.name == "link":
        schema["format"] = "uri"
    return nullable(schema) if column is not None and column.nullable else schema


def resource_schemas() -> dict[str, dict]:
    """One object schema per resource type: every attribute, and each include as a property."""
    schemas = {}
    # A pivot's columns ride on the related object when included through it (artistsong on artists and songs).
    pivots: dict[str, dict[str, dict]] = {}
    for resource in SCHEMAS.values():
        for relation in resource.relations.values():
            if relation.pivot_name:
                pivots.setdefault(relation.target, {})[relation.pivot_name] = {
                    "type": "object",
                    "properties": {key: nullable({"type": "string"}) for key, _ in relation.pivot_attributes},
                }
    for resource in SCHEMAS.values():
        properties = {attribute.name: attribute_schema(attribute) for attribute in resource.attributes}
        properties.update(pivots.get(resource.type, {}))
        for name, relation in resource.relations.items():
            target = ref(schema_name(relation.target))
            properties[name] = {"type": "array", "items": target} if relation.many else nullable(target)
        schemas[schema_name(resource.type)] = {
            "type": "object",
            "description": f"fields[{resource.type}] chooses which attributes appear; include=... adds relations. "
            f"Default fields: {', '.join(resource.default_fields or resource.attribute_names())}.",
            "properties": properties,
            "additionalProperties": False,
        }
    return schemas


# --- query parameters -------------------------------------------------------------------------


def include_paths(resource: ResourceSchema, depth: int = INCLUDE_DEPTH, prefix: str = "", root: ResourceSchema | None = None) -> list[str]:
    """The allowed include paths (the query layer's allow-list), up to ``depth`` levels."""
    root = root or resource
    paths = []
    for name, relation in resource.relations.items():
        full = f"{prefix}{name}"
        if not include_allowed(root, full):
            continue
        paths.append(full)
        if depth > 1:
            paths.extend(include_paths(SCHEMAS[relation.target], depth - 1, f"{full}.", root))
    return paths


def reachable_types(resource: ResourceSchema, *, show: bool = False) -> list[str]:
    """The types ``fields[...]`` (and, on a show, ``sort[...]``/``filter[...]``) may name."""
    return [resource.type, *sorted(allowed_types(resource, show=True) - {resource.type})] if not show else sorted(allowed_types(resource, show=True))


def comma_list(values: list[str], *, signed: bool = False) -> dict:
    """A string that is a comma-separated list of the given values (each maybe prefixed with -)."""
    sign = "-?" if signed else ""
    alternatives = "|".join(re.escape(value) for value in values)
    return {"type": "string", "pattern": f"^{sign}({alternatives})(,{sign}({alternatives}))*$"}


def _filter_value(attribute: Attribute, operator: str) -> dict:
    listable = operator in ("eq", "ne")  # comma lists mean IN / NOT IN
    if attribute.kind == "int":
        low, high = integer_range(attribute.column)
        if listable:
            digits = len(str(high)) - 1  # a number of this many digits always fits
            return {"type": "string", "pattern": f"^-?[0-9]{{1,{digits}}}(,-?[0-9]{{1,{digits}}})*$"}
        return {"type": "integer", "minimum": low, "maximum": high}
    if attribute.kind == "float":
        return {"type": "number"}
    if attribute.kind == "bool":
        return {"enum": ["true", "false", "1", "0", "on", "off", "yes", "no"]}
    if attribute.kind == "enum":
        return {"type": "string", "description": f"One of {', '.join(attribute.choices)} (any case)."}
    if attribute.kind == "datetime":
        return {"type": "string", "description": "Y, Y-m, Y-m-d, Y-m-dTH[:i[:s[.u]]], or an ISO 8601 date-time."}
    if listable:
        return {"type": "string", "pattern": "[^,\\s]", "description": "Comma-separated values match any of them."}
    return {"type": "string", "minLength": 1, "description": "% matches any text, _ one character; case-insensitive."}


def list_parameters(resource: ResourceSchema, *, paginate: bool = True) -> list[dict]:
    parameters = []
    if paginate:
        parameters += [
            query("page[size]", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}),
            query("page[number]", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_NUMBER, "default": 1}),
        ]
    includes = include_paths(resource)
    if includes:
        parameters.append(query("include", comma_list(includes), "Relations to include, dotted for nested ones."))
    for type_name in dict.fromkeys([resource.type, *reachable_types(resource)]):
        names = SCHEMAS[type_name].attribute_names()
        parameters.append(query(f"fields[{type_name}]", comma_list(names), f"The {type_name} attributes to return."))
    included = [SCHEMAS[name] for name in reachable_types(resource, show=True)]
    if resource.soft_deletes or any(s.soft_deletes for s in included):
        parameters.append(query("filter[trashed]", {"enum": ["with", "only", "without"], "default": "without"}, "Also narrows included resources."))
    if not paginate:
        return parameters
    if resource.sorts:
        parameters.append(query("sort", comma_list(list(resource.sorts), signed=True), "-name sorts descending; each name once; or random alone."))
    for name in resource.filters:
        attribute = resource.by_name[name]
        parameters.append(query(f"filter[{name}]", _filter_value(attribute, "eq")))
        for operator in sorted(OPERATORS_BY_KIND[attribute.kind]):
            parameters.append(query(f"filter[{name}-{operator}]", _filter_value(attribute, operator)))
    return parameters


def list_schema(resource: ResourceSchema) -> dict:
    return {
        "type": "object",
        "properties": {
            resource.plural: {"type": "array", "items": ref(schema_name(resource.type))},
            "links": ref("PageLinks"),
            "meta": ref("PageMeta"),
        },
        "required": [resource.plural, "links", "meta"],
        "additionalProperties": False,
    }


def one_schema(resource: ResourceSchema) -> dict:
    return {
        "type": "object",
        "properties": {resource.singular: ref(schema_name(resource.type))},
        "required": [resource.singular],
        "additionalProperties": False,
    }


def shared_schemas() -> dict[str, dict]:
    # Page links keep page[number] and the other parameters readable: [ and ] stay unescaped, so
    # they are URLs as browsers and the original API write them, not strict RFC 3986 URIs.
    nullable_url = {"type": ["string", "null"]}
    return {
        ERROR: {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            },
            "required": ["message"],
            "additionalProperties": False,
        },
        "PlaylistLimitError": {
            "type": "object",
            "properties": {"error": {"type": "string"}},
            "required": ["error"],
            "additionalProperties": False,
        },
        "PageLinks": {
            "type": "object",
            "properties": {"first": {"type": "string"}, "last": nullable_url, "prev": nullable_url, "next": nullable_url},
            "required": ["first", "last", "prev", "next"],
            "additionalProperties": False,
        },
        "PageMeta": {
            "type": "object",
            "properties": {
                "current_page": {"type": "integer", "minimum": 1},
                "from": {"type": ["integer", "null"]},
                "to": {"type": ["integer", "null"]},
                "path": {"type": "string"},
                "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
            },
            "required": ["current_page", "from", "to", "path", "per_page"],
            "additionalProperties": False,
        },
        "Me": {
            "type": "object",
            "properties": {
                "user": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "email": {"type": "string"},
                        "role": {"enum": ["admin", "user"]},
                        "created_at": {"type": "string", "format": "date-time"},
                        "updated_at": {"type": "string", "format": "date-time"},
                    },
                    "required": ["id", "name", "email", "role", "created_at", "updated_at"],
                    "additionalProperties": False,
                }
            },
            "required": ["user"],
            "additionalProperties": False,
        },
        "Message": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"], "additionalProperties": False},
    }


# --- catalogue writes -------------------------------------------------------------------------


def writable_schema(spec: WritableField) -> dict:
    if spec.kind in ("int", "fk"):
        schema: dict = {"type": "integer", "maximum": 2**63 - 1 if spec.kind == "int" else 2**31 - 1}
        schema["minimum"] = spec.minimum if spec.minimum is not None else (1 if spec.kind == "fk" else -(2**63))
    elif spec.kind == "bool":
        schema = {"type": "boolean"}
    elif spec.kind == "enum":
        schema = {"enum": list(spec.choices)}
    else:
        schema = {"type": "string"}
        if spec.max_length:
            schema["maxLength"] = spec.max_length
        if spec.pattern is not None:
            schema["pattern"] = spec.pattern.pattern
    return schema if spec.required else nullable(schema)


def write_body_schema(resource: CatalogueResource, *, partial: bool) -> dict:
    schema: dict = {
        "type": "object",
        "properties": {spec.name: writable_schema(spec) for spec in resource.fields},
        "additionalProperties": True,  # other keys are ignored
    }
    required = [spec.name for spec in resource.fields if spec.required]
    if required and not partial:
        schema["required"] = required
    return schema


def key_parameter(resource: CatalogueResource) -> dict:
    if resource.key == "id":
        return path("key", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, f"The {resource.label} id.")
    return path("key", {"type": "string", "pattern": SLUG.pattern, "maxLength": 192}, f"The {resource.label} {resource.key}.")


def upload_body(resource: CatalogueResource) -> dict | None:
    if resource.name == "audio":
        fields = {"file": {"type": "string", "format": "binary"}, "basename": {"type": "string", "pattern": SLUG.pattern, "maxLength": 192}}
    elif resource.name == "image":
        fields = {"file": {"type": "string", "format": "binary"}, "facet": writable_schema(next(f for f in resource.fields if f.name == "facet"))}
    else:
        return None
    return {"schema": {"type": "object", "properties": fields, "required": ["file"]}}


def catalogue_paths(paths: dict, resources: dict[str, tuple[CatalogueResource, ResourceSchema]]) -> None:
    for name, (resource, query_schema) in resources.items():
        tag = f"{resource.label} (AnimeThemes)"
        collection, item = f"/api/{name}", f"/api/{name}/{{key}}"
        key = key_parameter(resource)
        one = json_response(one_schema(query_schema), example=EXAMPLES.get(name))
        add(paths, collection, "get", operation(
            f"{name}_index", f"List {resource.label.lower()}", tag,
            {"200": json_response(list_schema(query_schema), example=LIST_EXAMPLES.get(name)), **error_responses(ERROR, 422)},
            parameters=list_parameters(query_schema),
        ))
        add(paths, item, "get", operation(
            f"{name}_show", f"Show one {resource.label.lower()}", tag,
            {"200": one, **error_responses(ERROR, 404, 422)},
            parameters=[key, *list_parameters(query_schema, paginate=False)],
        ))
        body = json_body(write_body_schema(resource, partial=False))
        upload = upload_body(resource)
        if upload:
            body["content"]["multipart/form-data"] = upload
        add(paths, collection, "post", operation(
            f"{name}_store", f"Create {resource.label.lower()}" + (" (JSON, or multipart with the file)" if upload else ""), tag,
            {"201": one, **error_responses(ERROR, 401, 403, 413, 422)},
            parameters=list_parameters(query_schema, paginate=False), body=body, security=SIGNED_IN,
            description="Admins only.",
        ))
        for method in ("put", "patch"):
            add(paths, item, method, operation(
                f"{name}_update_{method}", f"Update {resource.label.lower()}", tag,
                {"200": one, **error_responses(ERROR, 401, 403, 404, 413, 422)},
                parameters=[key, *list_parameters(query_schema, paginate=False)],
                body=json_body(write_body_schema(resource, partial=True)), security=SIGNED_IN, description="Admins only.",
            ))
        add(paths, item, "delete", operation(
            f"{name}_destroy", f"Trash {resource.label.lower()} (soft delete)", tag,
            {"200": one, **error_responses(ERROR, 401, 403, 404, 422)},
            parameters=[key, *list_parameters(query_schema, paginate=False)], security=SIGNED_IN, description="Admins only.",
        ))
        add(paths, f"/restore/{name}/{{key}}", "patch", operation(
            f"{name}_restore", f"Restore trashed {resource.label.lower()}", tag,
            {"200": one, **error_responses(ERROR, 401, 403, 404, 422)},
            parameters=[key, *list_parameters(query_schema, paginate=False)], security=SIGNED_IN, description="Admins only.",
        ))
        add(paths, f"/forceDelete/{name}/{{key}}", "delete", operation(
            f"{name}_force_delete", f"Delete {resource.label.lower()} for good, with its files", tag,
            {"200": json_response(ref("Message")), **error_responses(ERROR, 401, 403, 404)},
            parameters=[key], security=SIGNED_IN, description="Admins only.",
        ))


def pivot_paths(paths: dict, pivots: dict[str, CataloguePivot]) -> None:
    """Relation editing, upstream's /api/animeimage/{anime}/{image} style."""
    for name, pivot in pivots.items():
        tag = "Relations (AnimeThemes)"
        row = {
            "type": "object",
            "properties": {
                pivot.left_column: {"type": "integer"},
                pivot.right_column: {"type": "integer"},
                **{spec.name: writable_schema(spec) for spec in pivot.fields},
            },
            "required": [pivot.left_column, pivot.right_column],
        }
        one = json_response({"type": "object", "properties": {name: row}, "required": [name]})
        left = {**key_parameter(pivot.left), "name": "left"}
        right = {**key_parameter(pivot.right), "name": "right"}
        item = f"/api/{name}/{{left}}/{{right}}"
        page = [
            query("page[size]", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE}),
            query("page[number]", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_NUMBER}),
        ]
        add(paths, f"/api/{name}", "get", operation(
            f"{name}_index", f"List {pivot.left.label}-{pivot.right.label} links", tag,
            {"200": json_response({"type": "object"}), **error_responses(ERROR, 422)}, parameters=page,
        ))
        add(paths, item, "get", operation(
            f"{name}_show", f"Show one {pivot.left.label}-{pivot.right.label} link", tag,
            {"200": one, **error_responses(ERROR, 404)}, parameters=[left, right],
        ))
        body = json_body(write_body_schema(CatalogueResource(name, name, None, "id", pivot.fields), partial=True), required=False)
        add(paths, item, "post", operation(
            f"{name}_store", f"Attach {pivot.right.label} to {pivot.left.label}", tag,
            {"201": one, **error_responses(ERROR, 401, 403, 404, 422)}, parameters=[left, right], body=body,
            security=SIGNED_IN, description="Admins only.",
        ))
        if pivot.fields:
            for method in ("put", "patch"):
                add(paths, item, method, operation(
                    f"{name}_update_{method}", f"Update the {pivot.left.label}-{pivot.right.label} link", tag,
                    {"200": one, **error_responses(ERROR, 401, 403, 404, 422)}, parameters=[left, right], body=body,
                    security=SIGNED_IN, description="Admins only.",
                ))
        add(paths, item, "delete", operation(
            f"{name}_destroy", f"Detach {pivot.right.label} from {pivot.left.label}", tag,
            {"200": json_response(ref("Message")), **error_responses(ERROR, 401, 403, 404)}, parameters=[left, right],
            security=SIGNED_IN, description="Admins only.",
        ))


# --- playlists and /api/me --------------------------------------------------------------------

PLAYLIST_WRITE = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 192, "pattern": "\\S"},
        "description": {"type": ["string", "null"], "maxLength": 5000},
        "visibility": {"enum": [0, 1, 2], "description": "0 public, 1 private, 2 unlisted"},
    },
}
HASHID = path("hashid", {"type": "string", "minLength": 1, "maxLength": 64}, "The playlist's hashid.")
TRACK_ID = path("track_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1})
TRACK_PLACE = {"anyOf": [{"type": "integer", "minimum": 1, "maximum": 2**31 - 1}, {"type": "null"}]}
STATUS_403_PLAYLIST = "Not the owner, playlist management switched off, or the playlist limit reached ({\"error\": ...})."


def playlist_paths(paths: dict) -> None:
    playlist, track = SCHEMAS["playlist"], SCHEMAS["track"]
    tag = "Playlists (AnimeThemes)"
    one_playlist = json_response(one_schema(playlist), example=EXAMPLES["playlist"])
    one_track = json_response(one_schema(track))
    forbidden = {
        "description": STATUS_403_PLAYLIST,
        "content": {"application/json": {"schema": {"anyOf": [ref(ERROR), ref("PlaylistLimitError")]}}},
    }
    add(paths, "/api/playlist", "get", operation(
        "playlist_index", "List public playlists", tag,
        {"200": json_response(list_schema(playlist)), **error_responses(ERROR, 422)}, parameters=list_parameters(playlist),
    ))
    add(paths, "/api/me/playlist", "get", operation(
        "playlist_mine", "List my playlists, whatever their visibility", tag,
        {"200": json_response(list_schema(playlist)), **error_responses(ERROR, 401, 422)},
        parameters=list_parameters(playlist), security=SIGNED_IN,
    ))
    add(paths, "/api/playlist", "post", operation(
        "playlist_store", "Create a playlist", tag,
        {"201": one_playlist, **error_responses(ERROR, 401, 413, 422), "403": forbidden},
        parameters=list_parameters(playlist, paginate=False),
        body=json_body({**PLAYLIST_WRITE, "required": ["name", "visibility"]}, example=EXAMPLES["playlist_create"]),
        security=SIGNED_IN,
    ))
    add(paths, "/api/playlist/{hashid}", "get", operation(
        "playlist_show", "Show a playlist (public or unlisted, or your own)", tag,
        {"200": one_playlist, **error_responses(ERROR, 404, 422)}, parameters=[HASHID, *list_parameters(playlist, paginate=False)],
    ))
    for method in ("put", "patch"):
        add(paths, "/api/playlist/{hashid}", method, operation(
            f"playlist_update_{method}", "Update your playlist", tag,
            {"200": one_playlist, **error_responses(ERROR, 401, 403, 404, 413, 422)},
            parameters=[HASHID, *list_parameters(playlist, paginate=False)], body=json_body(PLAYLIST_WRITE), security=SIGNED_IN,
        ))
    add(paths, "/api/playlist/{hashid}", "delete", operation(
        "playlist_destroy", "Delete your playlist and its tracks", tag,
        {"200": json_response(ref("Message")), **error_responses(ERROR, 401, 403, 404)}, parameters=[HASHID], security=SIGNED_IN,
    ))
    add(paths, "/api/playlist/{hashid}/track", "get", operation(
        "playlist_track_index", "List a playlist's tracks in order", tag,
        {"200": json_response(list_schema(track)), **error_responses(ERROR, 404, 422)}, parameters=[HASHID, *list_parameters(track)],
    ))
    add(paths, "/api/playlist/{hashid}/track", "post", operation(
        "playlist_track_store", "Add a track (at the end, or after previous / before next)", tag,
        {"201": one_track, **error_responses(ERROR, 401, 403, 404, 413, 422)},
        parameters=[HASHID, *list_parameters(track, paginate=False)],
        body=json_body({
            "type": "object",
            "properties": {
                "audio_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                "video_id": TRACK_PLACE,
                "previous": TRACK_PLACE,
                "next": TRACK_PLACE,
            },
            "required": ["audio_id"],
        }),
        security=SIGNED_IN,
    ))
    add(paths, "/api/playlist/{hashid}/track/{track_id}", "get", operation(
        "playlist_track_show", "Show one track of a playlist", tag,
        {"200": one_track, **error_responses(ERROR, 404, 422)}, parameters=[HASHID, TRACK_ID, *list_parameters(track, paginate=False)],
    ))
    for method in ("put", "patch"):
        add(paths, "/api/playlist/{hashid}/track/{track_id}", method, operation(
            f"playlist_track_update_{method}", "Change a track's audio or video, and move it after previous or before next", tag,
            {"200": one_track, **error_responses(ERROR, 401, 403, 404, 413, 422)},
            parameters=[HASHID, TRACK_ID, *list_parameters(track, paginate=False)],
            body=json_body({
                "type": "object",
                "properties": {
                    "audio_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                    "video_id": TRACK_PLACE, "previous": TRACK_PLACE, "next": TRACK_PLACE,
                },
            }),
            security=SIGNED_IN,
        ))
    for direction, summary in (("forward", "from the first track on"), ("backward", "from the last track back")):
        add(paths, f"/api/playlist/{{hashid}}/{direction}", "get", operation(
            f"playlist_{direction}", f"A playlist's tracks {summary}", tag,
            {"200": json_response(list_schema(track)), **error_responses(ERROR, 404, 422)}, parameters=[HASHID, *list_parameters(track)],
        ))
        add(paths, f"/api/playlist/{{hashid}}/track/{{track_id}}/{direction}", "get", operation(
            f"playlist_track_{direction}", f"The tracks {'after' if direction == 'forward' else 'before'} this one, nearest first", tag,
            {"200": json_response(list_schema(track)), **error_responses(ERROR, 404, 422)}, parameters=[HASHID, TRACK_ID, *list_parameters(track)],
        ))
    add(paths, "/api/playlist/{hashid}/track/{track_id}", "delete", operation(
        "playlist_track_destroy", "Remove a track from a playlist", tag,
        {"200": json_response(ref("Message")), **error_responses(ERROR, 401, 403, 404)}, parameters=[HASHID, TRACK_ID], security=SIGNED_IN,
    ))
    add(paths, "/api/me", "get", operation(
        "me", "Who this token (or session) belongs to", "Accounts (AnimeThemes)",
        {"200": json_response(ref("Me")), **error_responses(ERROR, 401)}, security=SIGNED_IN,
    ))


# --- examples (from the spec documents, in this server's exact shapes) ------------------------

_AUDIO = {
    "audio_id": 1,
    "basename": "CowboyBebop-OP1",
    "filename": "CowboyBebop-OP1.ogg",
    "path": "/audio/CowboyBebop-OP1.ogg",
    "size": 5242880,
    "mimetype": "audio/ogg",
    "link": "https://themeboard.example/stream/audio/CowboyBebop-OP1.ogg",
    "created_at": TIMESTAMP_EXAMPLE,
    "updated_at": TIMESTAMP_EXAMPLE,
}
_IMAGE = {
    "image_id": 1,
    "path": "cover/cowboy_bebop_cover.jpg",
    "facet": "Cover",
    "link": "https://themeboard.example/stream/image/cover/cowboy_bebop_cover.jpg",
    "created_at": TIMESTAMP_EXAMPLE,
    "updated_at": TIMESTAMP_EXAMPLE,
    "anime": [{"anime_id": 1, "name": "Cowboy Bebop", "slug": "cowboy_bebop", "year": 1998}],
    "artists": [],
}
EXAMPLES: dict[str, Any] = {
    "audio": {"audio": {**_AUDIO, "videos": [{"video_id": 1, "basename": "CowboyBebop-OP1", "resolution": 1080, "source": "BD"}]}},
    "image": {"image": _IMAGE},
    "playlist": {
        "playlist": {
            "id": "Zk8OvY3e",
            "name": "Best of 2023",
            "description": "Top anime openings and endings from 2023",
            "visibility": 0,
            "user_id": 123,
            "first_id": None,
            "last_id": None,
            "created_at": "2024-01-15T10:30:00.000000Z",
            "updated_at": "2024-01-15T10:30:00.000000Z",
        }
    },
    "playlist_create": {"name": "Best of 2023", "description": "Top anime openings and endings from 2023", "visibility": 0},
}
LIST_EXAMPLES: dict[str, Any] = {
    "audio": {
        "audios": [_AUDIO],
        "links": {
            "first": "https://themeboard.example/api/audio?include=videos&page[size]=10&page[number]=1",
            "last": None,
            "prev": None,
            "next": "https://themeboard.example/api/audio?include=videos&page[size]=10&page[number]=2",
        },
        "meta": {"current_page": 1, "from": 1, "to": 1, "path": "https://themeboard.example/api/audio", "per_page": 10},
    },
}


def search_paths(paths: dict) -> None:
    from blueprints.wiki.api import DEFAULT_LIMIT, MAX_LIMIT, SEARCH_TYPES

    lists = {key: {"type": "array", "items": ref(schema_name(type_name))} for key, type_name in SEARCH_TYPES.items()}
    add(paths, "/api/search", "get", operation(
        "search", "Search anime (names and synonyms), themes, songs and artists", "Wiki (AnimeThemes)",
        {
            "200": json_response({"type": "object", "required": ["search"], "properties": {"search": {"type": "object", "properties": lists}}}),
            **error_responses(ERROR, 422),
        },
        parameters=[
            {**query("q", {"type": "string", "minLength": 1, "maxLength": 100}, "Words matched as prefixes; OP/ED/IN with a sequence narrow the themes."), "required": True},
            query("fields[search]", comma_list(list(SEARCH_TYPES)), "The lists to return."),
            query("page[limit]", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}, "Results per list."),
        ],
    ))


def animethemes_part() -> tuple[dict, dict]:
    """(paths, component schemas) of the family."""
    from blueprints.catalogue.api import RESOURCES
    from blueprints.catalogue.services import PIVOTS

    paths: dict = {}
    catalogue_paths(paths, RESOURCES)
    pivot_paths(paths, PIVOTS)
    playlist_paths(paths)
    search_paths(paths)
    return paths, {**shared_schemas(), **resource_schemas()}

