"""`prune` command line: not built yet (its issue is open); prints what it will do."""
import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help=(
    "Iterative magnitude pruning and prune-and-grow of trained runs. Not built yet: see the pruning issue."))


@app.command()
def status():
    """Say what is built."""
    typer.echo("prune: not built yet; models/ run directories are the interface it will read.")


def main() -> None:
    app(prog_name="prune")
