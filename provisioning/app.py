"""The `kassa-provision` Typer app and its shared options (exit codes: 0 ok, 2 usage or config error, 1 otherwise)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["app", "bundle_app", "ConfigOpt"]

app = typer.Typer(
    help="Provision, self-test and service a Kassa register.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bundle_app = typer.Typer(help="One file for many registers: export from one device, apply on the others.",
                         no_args_is_help=True)
app.add_typer(bundle_app, name="bundle")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", envvar="KASSA_CONFIG", help="Config file (default /etc/kassa/kassa.toml)."),
]
