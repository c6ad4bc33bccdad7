"""`gan-report <sweep_dir>`: one table and three plots for a whole sweep, from the files its jobs wrote.

Writes summary.csv (one row per configuration), report.md, objective.png, curves.png and gallery.png into the
sweep dir, and prints the table. Safe to run while the sweep is still going: it reports what is there.
"""
import argparse
import sys
from pathlib import Path

from gan_runner.errors import UserError
from gan_runner.sweep import figures, markdown
from gan_runner.sweep.collect import collect
from gan_runner.sweep.resume import resume_command
from gan_runner.sweep.summary import common_overrides, group, main_objective, metric_names, ranked, write_csv


def build(sweep_dir: Path) -> Path:
    """Write the report files into `sweep_dir`; returns report.md's path."""
    jobs = collect(sweep_dir)
    if not jobs:
        raise UserError(f"no job folders (with .hydra/overrides.yaml) under {sweep_dir}: "
                        "pass a sweep folder, e.g. outputs/multirun/<date_time>")
    objective, metrics = main_objective(jobs), metric_names(jobs)
    rows = ranked(group(jobs), objective)
    write_csv(rows, metrics, sweep_dir / "summary.csv")
    plots = {}
    if objective:
        drawn = {
            f"{objective} by configuration": ("objective.png", figures.objective_chart),
            "Learning curves": ("curves.png", figures.learning_curves),
            "Final samples": ("gallery.png", figures.gallery),
        }
        plots = {title: file for title, (file, draw) in drawn.items() if draw(rows, objective, sweep_dir / file)}
    text = markdown.report(sweep_dir, rows, objective, metrics, common_overrides(jobs), plots)
    (sweep_dir / "report.md").write_text(text)
    return sweep_dir / "report.md"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="gan-report", description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_dir", type=Path, help="a multirun folder, e.g. outputs/multirun/<date_time>")
    args = parser.parse_args(argv)
    try:
        report = build(args.sweep_dir)
    except UserError as exc:
        print(f"gan-report: error: {exc}", file=sys.stderr)
        sys.exit(2)
    table = report.read_text().split("\n\n")
    print("\n\n".join(part for part in table if part.startswith("|") or part.startswith("# ")))
    print(f"\nwrote {report}, summary.csv and plots in {args.sweep_dir}")
    unfinished = [job for job in collect(args.sweep_dir) if job.status != "completed"]
    command = resume_command(args.sweep_dir)
    if unfinished and command:
        print(f"{len(unfinished)} job(s) did not complete; to resume the sweep (completed jobs are not run again):"
              f"\n  {command}")


if __name__ == "__main__":
    main()
