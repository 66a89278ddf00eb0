"""`kassa-provision`: the field technician's command."""

from __future__ import annotations

import typer

app = typer.Typer(help="Provision, self-test and service a Kassa register.", no_args_is_help=True, add_completion=False)


@app.command()
def init() -> None:
    """Write the device's identity, broker and shop settings."""
    typer.echo("kassa-provision init: not yet")
    raise typer.Exit(1)


def main() -> None:
    app()
