"""`flask catalogue ...`: the catalogue's commands (import from another AnimeThemes-compatible API)."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from blueprints.catalogue.importer import ImportFailed, import_library

catalogue_cli = AppGroup("catalogue", help="The anime theme wiki: import from an AnimeThemes-compatible API.")


@catalogue_cli.command("import")
@click.argument("base_url")
@click.option("--download", is_flag=True, help="Also copy audio files and images into this library's storage.")
@click.option("--page-size", type=click.IntRange(1, 100), default=25, show_default=True, help="Anime per API page.")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=15.0, show_default=True, help="Seconds to wait for each request.")
def import_command(base_url: str, download: bool, page_size: int, timeout: float) -> None:
    """Walk BASE_URL's /api/anime pages (themes, entries, videos, audio, songs, artists, images,
    synonyms, series, studios) into this library. Idempotent: a second run changes nothing."""

    def progress(items):
        return click.progressbar(
            items, label="Importing anime", file=sys.stderr, item_show_func=lambda item: item.get("slug") if item else None
        )

    try:
        report = import_library(base_url, page_size=page_size, download=download, timeout=timeout, progress=progress)
    except ImportFailed as error:
        click.echo(f"Error: {error.message}", err=True)
        sys.exit(1)
    click.echo(
        f"Imported {report.anime} anime from {report.pages} page(s): {report.changed_rows} row(s) written"
        + (f", {report.files} file(s) downloaded" if download else "") + "."
    )
    for note in report.skipped:
        click.echo(f"Skipped {note}", err=True)
