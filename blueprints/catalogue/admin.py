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
    values: dict = {}
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
