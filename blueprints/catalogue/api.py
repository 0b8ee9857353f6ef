"""The AnimeThemes-style JSON API of the catalogue: one set of routes per resource, written once."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from blueprints.catalogue import schemas, services
from blueprints.catalogue.services import PIVOTS, CataloguePivot, CatalogueResource
from blueprints.common.auth import api_admin_required
from blueprints.common.cache import cached_json
from blueprints.common.query import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, ResourceSchema, json_response, list_resources, show_resource
from domain import ValidationFailed

api = Blueprint("catalogue_api", __name__)

# URL segment -> (write rules, query schema): every catalogue resource, declared once in schemas/services.
RESOURCES: dict[str, tuple[CatalogueResource, ResourceSchema]] = {
    query_schema.type: (services.RESOURCES[query_schema.type], query_schema) for query_schema in schemas.ALL
}


def json_object() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed({"body": ["The request body must be a JSON object."]})
    return data


def one(resource: CatalogueResource, query_schema: ResourceSchema, instance, status: int = 200):
    """Serialise through the query layer so writes answer exactly like reads (include, fields)."""
    body = show_resource(query_schema, query_schema.id_column == instance.id, request.args)
    return json_response(body, status)


def make_routes(name: str, resource: CatalogueResource, query_schema: ResourceSchema) -> None:
    converter = "<int:key>" if resource.key == "id" else "<key>"

    @cached_json
    def index():
        return json_response(list_resources(query_schema, request.args))

    @cached_json
    def show(key):
        where = resource.key_column == key
        return json_response(show_resource(query_schema, where, request.args, not_found=f"No query results for model [{resource.label}] {key}"))

    @api_admin_required
    def store():
        if request.files or request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise ValidationFailed({"file": ["The file field is required."]})
            if resource is services.AUDIO:
                instance = services.upload_audio(upload.stream, upload.filename, request.form.get("basename") or None)
            elif resource is services.IMAGE:
                instance = services.upload_image(upload.stream, request.form.get("facet", ""))
            else:
                raise ValidationFailed({"file": [f"{resource.label} resources do not take a file."]})
        else:
            instance = services.create(resource, json_object())
        return one(resource, query_schema, instance, 201)

    @api_admin_required
    def update(key):
        instance = services.find(resource, key, viewer_id=current_user.id)
        services.update(resource, instance, json_object())
        return one(resource, query_schema, instance)

    @api_admin_required
    def destroy(key):
        instance = services.find(resource, key, viewer_id=current_user.id)
        services.soft_delete(instance)
        return one(resource, query_schema, instance)

    @api_admin_required
    def restore(key):
        # Restoring a row that is not deleted succeeds and changes nothing, as upstream's RestoreAction.
        instance = services.find(resource, key, trashed="with", viewer_id=current_user.id)
        services.restore(instance)
        return one(resource, query_schema, instance)

    @api_admin_required
    def force_delete(key):
        instance = services.find(resource, key, trashed="with", viewer_id=current_user.id)
        message = resource.deleted_message(instance)
        services.force_delete(resource, instance)
        return jsonify({"message": message})

    api.add_url_rule(f"/api/{name}", f"{name}_index", index, methods=["GET"])
    api.add_url_rule(f"/api/{name}/{converter}", f"{name}_show", show, methods=["GET"])
    api.add_url_rule(f"/api/{name}", f"{name}_store", store, methods=["POST"])
    api.add_url_rule(f"/api/{name}/{converter}", f"{name}_update", update, methods=["PUT", "PATCH"])
    api.add_url_rule(f"/api/{name}/{converter}", f"{name}_destroy", destroy, methods=["DELETE"])
    api.add_url_rule(f"/restore/{name}/{converter}", f"{name}_restore", restore, methods=["PATCH"])
    api.add_url_rule(f"/forceDelete/{name}/{converter}", f"{name}_force_delete", force_delete, methods=["DELETE"])


def _page_number(key: str, default: int, maximum: int) -> int:
    raw = request.args.get(key, "")
    label = key.replace("[", ".").replace("]", "")
    if raw == "":
        return default
    if not raw.isdecimal() or not 1 <= int(raw) <= maximum:
        raise ValidationFailed({label: [f"The {label} must be an integer between 1 and {maximum}."]})
    return int(raw)


def make_pivot_routes(pivot: CataloguePivot) -> None:
    name = pivot.name
    left_converter = "<int:left>" if pivot.left.key == "id" else "<left>"
    right_converter = "<int:right>" if pivot.right.key == "id" else "<right>"

    def rows(left, right):
        viewer = current_user.id if current_user.is_authenticated else None
        return services.find(pivot.left, left, viewer_id=viewer), services.find(pivot.right, right, viewer_id=viewer)

    def index():
        size = _page_number("page[size]", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        number = _page_number("page[number]", 1, 2**31 - 1)
        items, has_more = services.list_pivot(pivot, number, size)
        return jsonify({name + "s" if not name.endswith("series") else name: items, "meta": {"current_page": number, "per_page": size, "has_more": has_more}})

    def show(left, right):
        return jsonify({name: services.find_pivot(pivot, *rows(left, right))})

    @api_admin_required
    def store(left, right):
        data = request.get_json(silent=True) if request.data else {}
        if not isinstance(data, dict):
            raise ValidationFailed({"body": ["The request body must be a JSON object."]})
        return jsonify({name: services.attach(pivot, *rows(left, right), data)}), 201

    @api_admin_required
    def update(left, right):
        return jsonify({name: services.update_pivot(pivot, *rows(left, right), json_object())})

    @api_admin_required
    def destroy(left, right):
        left_row, right_row = rows(left, right)
        services.detach(pivot, left_row, right_row)
        return jsonify({"message": f"{pivot.right.label} '{pivot.right.key_of(right_row)}' has been detached from {pivot.left.label} '{pivot.left.key_of(left_row)}'."})

    path = f"/api/{name}/{left_converter}/{right_converter}"
    api.add_url_rule(f"/api/{name}", f"{name}_index", index, methods=["GET"])
    api.add_url_rule(path, f"{name}_show", show, methods=["GET"])
    api.add_url_rule(path, f"{name}_store", store, methods=["POST"])
    if pivot.fields:
        api.add_url_rule(path, f"{name}_update", update, methods=["PUT", "PATCH"])
    api.add_url_rule(path, f"{name}_destroy", destroy, methods=["DELETE"])


for _name, (_resource, _schema) in RESOURCES.items():
    make_routes(_name, _resource, _schema)
for _pivot in PIVOTS.values():
    make_pivot_routes(_pivot)
