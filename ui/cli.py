"""`kassa`: start the appliance (`demo` on simulated hardware, `run` from the config file)."""

from __future__ import annotations

import typer

from firmware import __version__

app = typer.Typer(help="Kassa cash register appliance.", no_args_is_help=True, add_completion=False)


@app.command()
def version() -> None:
    """Print the firmware version."""
    typer.echo(__version__)


@app.command()
def demo() -> None:
    """The whole appliance on simulated hardware with a sample catalog and clerks."""
    typer.echo("kassa demo: not yet")
    raise typer.Exit(1)


@app.command()
def run() -> None:
    """The appliance from the config file (what systemd starts)."""
    typer.echo("kassa run: not yet")
    raise typer.Exit(1)


def main() -> None:
    app()
