"""Admin pages for every catalogue resource, driven by the same write rules as the JSON API."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.catalogue import services
from blueprints.catalogue.services import RESOURCES, CatalogueResource
from blueprints.common.auth import admin_page_required
from blueprints.common.htmx import render_page
from blueprints.common.query import page_argument
from domain import DomainError, NotFound, ValidationFailed

admin = Blueprint("catalogue_admin", __name__, url_prefix="/admin/catalogue")


def _resource(name: str) -> CatalogueResource:
    if name not in RESOURCES:
        raise NotFound("No such catalogue resource.")
    return RESOURCES[name]


# Resources whose rows have a relation page: a pivot side, or an owner of children (themes, entries).
RELATION_OWNERS = {name for pivot in services.PIVOTS.values() for name in (pivot.left.name, pivot.right.name)} | {"anime", "animetheme", "song"}


def _form_data(resource: CatalogueResource) -> dict:
    """Form posts carry strings; the service takes the API's JSON types, so numbers are read here.
    Unchecked boxes are absent, so booleans default to False."""
    data: dict = {}
    for spec in resource.fields:
        if spec.kind == "bool":
            data[spec.name] = spec.name in request.form
        elif spec.name in request.form:
            value = request.form[spec.name].strip()
            if spec.kind in ("int", "fk") and value.lstrip("-").isdecimal() and len(value) <= 19:
                value = int(value)
            data[spec.name] = value
    return data


def _render_index(resource: CatalogueResource, status: int = 200, **upload):
    trashed = request.args.get("trashed") == "1"
    search = request.args.get("q", "").strip()[:100]
    page = page_argument(request.args)
    pagination = services.admin_list(resource, trashed=trashed, search=search, page=page, viewer_id=current_user.id)
    return render_page(
        "catalogue/admin_index.html",
        "catalogue/_admin_list.html",
        status,
        resource=resource,
        pagination=pagination,
        trashed=trashed,
        search=search,
        resources=RESOURCES,
        relation_owners=RELATION_OWNERS,
        **upload,
    )


@admin_page_required
def index(resource_name: str):
    return _render_index(_resource(resource_name))


for _name in RESOURCES:
    # One endpoint per resource (catalogue.admin_audio, ...), linked from the admin dashboard.
    admin.add_url_rule(f"/{_name}", f"admin_{_name}", index, defaults={"resource_name": _name})


@admin.post("/<resource_name>/upload")
@admin_page_required
def upload(resource_name: str):
    """An audio or image upload from the admin list: htmx gets the list again with the outcome in
    its form; without JavaScript a success redirects (303) and an error re-renders the page."""
    resource = _resource(resource_name)
    values = {"basename": request.form.get("basename", ""), "facet": request.form.get("facet", "")}
    file = request.files.get("file")
    try:
        if file is None or not file.filename:
            raise ValidationFailed({"file": ["Choose a file to upload."]})
        if resource is services.AUDIO:
            instance = services.upload_audio(file.stream, file.filename, values["basename"].strip() or None)
            message = f"Uploaded “{instance.basename}” ({(instance.format or '').upper()}, {instance.size // 1024:,} KB)."
        elif resource is services.IMAGE:
            instance = services.upload_image(file.stream, values["facet"])
            message = f"Uploaded image {instance.path} ({instance.width}×{instance.height})."
        else:
            raise NotFound("This resource takes no files.")
    except ValidationFailed as error:
        errors = error.errors or {}
        return _render_index(resource, 422, upload_errors=errors, upload_values=values, upload_error=_unplaced(errors))
    except DomainError as error:  # not audio or not an image (422), over the limit (413)
        return _render_index(resource, error.status, upload_values=values, upload_error=error.message)
    if request.headers.get("HX-Request") == "true":
        return _render_index(resource, upload_message=message)
    flash(message, "success")
    return redirect(url_for(f"catalogue_admin.admin_{resource.name}"), code=303)


def _unplaced(errors: dict) -> str | None:
    """Messages for fields the upload form has no place for, said in its error slot."""
    shown = {"file", "basename", "facet"}
    return " ".join(m for field, messages in errors.items() if field not in shown for m in messages) or None


@admin.route("/<resource_name>/new", methods=["GET", "POST"])
@admin_page_required
def create(resource_name: str):
    resource = _resource(resource_name)
    errors: dict = {}
    # A link from an owner's relation page names it (?anime_id=3): the new theme belongs to it.
    values: dict = {spec.name: request.args[spec.name] for spec in resource.fields if spec.name in request.args}
    if request.method == "POST":
        values = _form_data(resource)
        try:
            instance = services.create(resource, values)
        except ValidationFailed as error:
            errors = error.errors or {}
        else:
            flash(f"{resource.label} “{resource.key_of(instance)}” created.", "success")
            return redirect(url_for(f"catalogue_admin.admin_{resource.name}"), code=303)
    return render_template("catalogue/admin_form.html", resource=resource, values=values, errors=errors, instance=None), (422 if errors else 200)


@admin.route("/<resource_name>/<key>/edit", methods=["GET", "POST"])
@admin_page_required
def edit(resource_name: str, key: str):
    resource = _resource(resource_name)
    instance = services.find(resource, key, trashed="with", viewer_id=current_user.id)
    errors: dict = {}
    values = {spec.name: getattr(instance, spec.name) for spec in resource.fields}
    if request.method == "POST":
        values = _form_data(resource)
        try:
            services.update(resource, instance, values)
        except ValidationFailed as error:
            errors = error.errors or {}
        else:
            flash(f"{resource.label} “{resource.key_of(instance)}” saved.", "success")
            return redirect(url_for(f"catalogue_admin.admin_{resource.name}"), code=303)
    return render_template("catalogue/admin_form.html", resource=resource, values=values, errors=errors, instance=instance), (422 if errors else 200)


@admin.post("/<resource_name>/<key>/delete")
@admin_page_required
def delete(resource_name: str, key: str):
    resource = _resource(resource_name)
    instance = services.find(resource, key, viewer_id=current_user.id)
    services.soft_delete(instance)
    flash(f"{resource.label} “{key}” moved to the trash.", "success")
    return redirect(url_for(f"catalogue_admin.admin_{resource.name}"), code=303)


@admin.post("/<resource_name>/<key>/restore")
@admin_page_required
def restore(resource_name: str, key: str):
    resource = _resource(resource_name)
    services.restore(services.find(resource, key, trashed="only", viewer_id=current_user.id))
    flash(f"{resource.label} “{key}” restored.", "success")
    return redirect(url_for(f"catalogue_admin.admin_{resource.name}", trashed=1), code=303)


@admin.post("/<resource_name>/<key>/force-delete")
@admin_page_required
def force_delete(resource_name: str, key: str):
    resource = _resource(resource_name)
    services.force_delete(resource, services.find(resource, key, trashed="with", viewer_id=current_user.id))
    flash(f"{resource.label} “{key}” deleted for good.", "success")
    return redirect(url_for(f"catalogue_admin.admin_{resource.name}", trashed=1), code=303)


# ---------------------------------------------------------------------------------------------
# Relation editor: the pivots (attach, edit "as", detach) and the children of one row
# ---------------------------------------------------------------------------------------------


def _pivot_section(resource: CatalogueResource, pivot_name: str):
    pivot = services.PIVOTS.get(pivot_name)
    if pivot is None or resource not in (pivot.left, pivot.right):
        raise NotFound("No such relation.")
    return pivot


def _ordered(pivot, resource: CatalogueResource, owner, other):
    return (owner, other) if pivot.left is resource else (other, owner)


def _relations_page(resource: CatalogueResource, instance, errors: dict | None = None, status: int = 200):
    sections = services.relation_sections(resource, instance, viewer_id=current_user.id)
    children = services.children_of(resource, instance)
    return render_template(
        "catalogue/admin_relations.html", resource=resource, instance=instance, sections=sections, children=children,
        errors=errors or {}, resources=RESOURCES,
    ), status


@admin.get("/<resource_name>/<key>/relations")
@admin_page_required
def relations(resource_name: str, key: str):
    resource = _resource(resource_name)
    return _relations_page(resource, services.find(resource, key, trashed="with", viewer_id=current_user.id))


@admin.post("/<resource_name>/<key>/relations/<pivot_name>")
@admin_page_required
def attach(resource_name: str, key: str, pivot_name: str):
    resource = _resource(resource_name)
    instance = services.find(resource, key, trashed="with", viewer_id=current_user.id)
    pivot = _pivot_section(resource, pivot_name)
    other_resource = pivot.right if pivot.left is resource else pivot.left
    other_key = request.form.get("other", "").strip()
    values = {spec.name: request.form.get(spec.name, "").strip() for spec in pivot.fields}
    try:
        other = services.find(other_resource, other_key, viewer_id=current_user.id)
        services.attach(pivot, *_ordered(pivot, resource, instance, other), values)
    except NotFound:
        return _relations_page(resource, instance, {pivot_name: [f"No {other_resource.label.lower()} “{other_key}”."]}, 422)
    except ValidationFailed as error:
        messages = [message for field_messages in (error.errors or {}).values() for message in field_messages]
        return _relations_page(resource, instance, {pivot_name: messages}, 422)
    flash(f"{other_resource.label} “{other_key}” attached.", "success")
    return redirect(url_for("catalogue_admin.relations", resource_name=resource.name, key=key), code=303)


@admin.post("/<resource_name>/<key>/relations/<pivot_name>/<other_key>")
@admin_page_required
def update_relation(resource_name: str, key: str, pivot_name: str, other_key: str):
    resource = _resource(resource_name)
    instance = services.find(resource, key, trashed="with", viewer_id=current_user.id)
    pivot = _pivot_section(resource, pivot_name)
    other_resource = pivot.right if pivot.left is resource else pivot.left
    other = services.find(other_resource, other_key, trashed="with", viewer_id=current_user.id)
    pair = _ordered(pivot, resource, instance, other)
    if request.form.get("action") == "detach":
        services.detach(pivot, *pair)
        flash(f"{other_resource.label} “{other_key}” detached.", "success")
    else:
        try:
            services.update_pivot(pivot, *pair, {spec.name: request.form.get(spec.name, "").strip() for spec in pivot.fields})
        except ValidationFailed as error:
            messages = [message for field_messages in (error.errors or {}).values() for message in field_messages]
            return _relations_page(resource, instance, {pivot_name: messages}, 422)
        flash(f"{other_resource.label} “{other_key}” saved.", "success")
    return redirect(url_for("catalogue_admin.relations", resource_name=resource.name, key=key), code=303)
