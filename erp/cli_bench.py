"""`flask --app wsgi seed-bench --size s|m|l [--seed N]`: the benchmark data set (bench/)."""
from __future__ import annotations

import click
from flask import Flask

SIZE_CHOICES = ["s", "m", "l", "xs"]  # xs: a hundredth of m, for the test suite


@click.command("seed-bench")
@click.option("--size", type=click.Choice(SIZE_CHOICES), default="s", show_default=True,
              help="s: a tenth of m; m: 20,000 products, 10,000 sales orders, 200,000 "
                   "movements; l: ten times m.")
@click.option("--seed", type=int, default=1, show_default=True,
              help="Random seed: the same seed and size give the same data.")
def seed_bench(size: str, seed: int) -> None:
    """Load the benchmark company "Bench Co" into the configured database (bulk inserts)."""
    from erp.seeds import bench

    plan = bench.plan_for(size)
    try:
        with click.progressbar(length=plan.rows, label=f"Loading size {size}",
                               show_eta=True, show_percent=True) as bar:
            result = bench.generate(size, seed, progress=bar.update)
    except bench.BenchExists as error:
        raise click.ClickException(str(error)) from error
    for line in bench.summary_lines(result):
        click.echo(line)


def register(app: Flask) -> None:
    app.cli.add_command(seed_bench)
