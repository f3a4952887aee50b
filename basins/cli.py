"""`basins` command line: not built yet (its issue is open); prints what it will do."""
import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=(
    "Basin connectivity of trained runs (alignment, interpolation, curves, hopping, maps). "
    "Not built yet: see the basins issue."))


@app.command()
def status():
    """Say what is built."""
    typer.echo("basins: not built yet; models/ run directories are the interface it will read.")


def main() -> None:
    app(prog_name="basins")
