"""The operator commands' command-line faces: parse options, show progress, report, exit."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from blueprints.operations import checks, snapshots


@click.command("check")
@click.option("--repair", is_flag=True, help="Repair what is safe to repair, and say what was done.")
@click.option(
    "--min-age", type=click.FloatRange(min=0), default=600.0, show_default=True,
    help="Seconds an orphan file must be old before --repair deletes it (younger ones may belong to a write in progress).",
)
@with_appcontext
def check_command(repair: bool, min_age: float) -> None:
    """Find orphan and missing files, broken playlist chains, and a soundboard total that disagrees
    with its statistics. Exits 1 when a problem is left unrepaired, 0 when all is well or repaired."""
    inventory = checks.take_inventory()
    with click.progressbar(length=inventory.size or 1, label="Checking", file=sys.stderr) as bar:
        findings = checks.run_checks(inventory, repair, min_age, bar.update)
    for finding in findings:
        outcome = f"REPAIRED: {finding.action}" if finding.repaired else "not repaired"
        click.echo(f"{finding.kind}: {finding.subject}: {finding.detail} [{outcome}]")
    left = [f for f in findings if not f.repaired]
    if not findings:
        click.echo("No problems found.")
    else:
        click.echo(f"{len(findings)} problem(s): {len(findings) - len(left)} repaired, {len(left)} not repaired.")
        if left and not repair:
            click.echo("Run again with --repair to repair what is safe to repair.")
    sys.exit(1 if left else 0)


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return str(count)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent snapshot of the database and the media to PATH (a tar archive; .tar.gz
    compresses it). Safe while the server runs: writers are not blocked."""
    rows, size = snapshots.estimate()
    with click.progressbar(length=rows + size or 1, label="Backing up", file=sys.stderr) as bar:
        report = snapshots.write_backup(path, bar.update)
    click.echo(f"Wrote {path}: {sum(report.rows.values())} rows in {len(report.rows)} tables, {report.files} files ({_size(report.bytes)}).")
    if report.left_out:
        click.echo(f"Left out {report.left_out} stored file(s) no row of the snapshot names (written after it, or orphans: see `flask check`).")
    if report.missing:
        click.echo(
            f"Warning: {len(report.missing)} file(s) named by the snapshot were deleted before they could be copied "
            "(listed in the manifest; `flask check` reports them after a restore):", err=True,
        )
        for key in report.missing:
            click.echo(f"  {key}", err=True)


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Delete every row of a database that is not empty first, and replace stored files with the same keys.")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Restore a backup written by `flask backup` into this app's database and storage (empty,
    unless --force). The archive is checked against its checksums before anything is written."""
    try:
        manifest = snapshots.read_manifest(path)
        with click.progressbar(length=snapshots.archive_size(path) or 1, label="Verifying", file=sys.stderr) as bar:
            snapshots.verify(path, manifest, bar.update)
        rows = sum(entry["rows"] for entry in manifest["tables"].values())
        size = sum(entry["size"] for entry in manifest["files"].values())
        with click.progressbar(length=rows + size or 1, label="Restoring", file=sys.stderr) as bar:
            report = snapshots.restore_backup(path, force, bar.update)
    except snapshots.SnapshotError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(1)
    if report.migrated:
        click.echo("Created the schema (flask db upgrade) in the empty database.")
    if report.emptied:
        click.echo("Deleted every row the database held (--force).")
    click.echo(f"Restored {sum(report.rows.values())} rows in {len(report.rows)} tables and {report.files} files from {path} (taken {manifest['created_at']}).")
    if manifest.get("missing"):
        click.echo(f"Warning: the backup lacks {len(manifest['missing'])} file(s) deleted while it was taken; run `flask --app app check`.", err=True)
