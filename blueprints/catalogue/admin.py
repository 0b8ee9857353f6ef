"""Admin pages for every catalogue resource, driven by the same write rules as the JSON API."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from blueprints.catalogue import services
from blueprints.catalogue.services import RESOURCES, CatalogueResource
from blueprints.common.auth import admin_page_required
from blueprints.common.query import page_argument
from domain import NotFound, ValidationFailed

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


@admin_page_required
def index(resource_name: str):
    resource = _resource(resource_name)
    trashed = request.args.get("trashed") == "1"
    search = request.args.get("q", "").strip()[:100]
    page = page_argument(request.args)
    pagination = services.admin_list(resource, trashed=trashed, search=search, page=page, viewer_id=current_user.id)
    return render_template(
        "catalogue/admin_index.html", resource=resource, pagination=pagination, trashed=trashed, search=search, resources=RESOURCES
    )


for _name in RESOURCES:
    # One endpoint per resource (catalogue.admin_audio, ...), linked from the admin dashboard.
    admin.add_url_rule(f"/{_name}", f"admin_{_name}", index, defaults={"resource_name": _name})


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
