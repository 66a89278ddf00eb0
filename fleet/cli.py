"""`kassa-fleet`: the reference fleet backend (ingest worker, catalog/clerk publishing, status)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Kassa fleet reference backend.", no_args_is_help=True, add_completion=False)


@app.command()
def ingest() -> None:
    """Ingest receipts from the broker into a database."""
    typer.echo("kassa-fleet ingest: not yet")
    raise typer.Exit(1)


def main() -> None:
    app()
