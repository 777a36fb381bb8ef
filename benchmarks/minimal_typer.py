"""The floor of a Typer CLI (case 1): a Typer app whose one command prints a file."""

import sys

import typer

app = typer.Typer()


@app.command()
def cat(path: str) -> None:
    with open(path, "rb") as handle:
        sys.stdout.buffer.write(handle.read())


if __name__ == "__main__":
    app()
