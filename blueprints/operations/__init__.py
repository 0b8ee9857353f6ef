"""Operator commands: `flask check [--repair]`, `flask backup PATH`, `flask restore PATH`."""
from flask import Flask

from blueprints.operations.cli import backup_command, check_command, restore_command


def register(app: Flask) -> None:
    for command in (check_command, backup_command, restore_command):
        app.cli.add_command(command)
