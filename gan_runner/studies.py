"""What the study scripts under scripts/ share: a mean and its standard error, and a report page whose hand-written
reading (below NOTES) survives the script writing its tables again."""
import itertools
import math
import statistics
from pathlib import Path

NOTES = "\n<!-- written by hand below this line; the script keeps it -->\n"


def mean_se(values: list[float]) -> tuple[float, float]:
    """The mean and its standard error s / sqrt(n), s the sample standard deviation (nan for one value; both nan
    for none). Values are taken as given: a caller that leaves out non-finite ones says so."""
    if not values:
        return math.nan, math.nan
    se = statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return statistics.fmean(values), se


def write_page(page: Path, lines: list[str]) -> None:
    """The script's part of `page`, then whatever was written by hand below NOTES."""
    page.parent.mkdir(parents=True, exist_ok=True)
    kept = page.read_text().partition(NOTES)[2] if page.exists() else "\n"
    page.write_text("\n".join(lines) + NOTES + kept)


def permutation_p(a: list[float], b: list[float]) -> float:
    """Exact two-sided permutation test of mean(a) - mean(b) over every split of a + b into groups of |a| and |b|."""
    pooled, observed = a + b, abs(statistics.mean(a) - statistics.mean(b))
    total = sum(pooled)
    hits = splits = 0
    for group in itertools.combinations(range(len(pooled)), len(a)):
        first = sum(pooled[i] for i in group)
        diff = abs(first / len(a) - (total - first) / len(b))
        hits += diff >= observed - 1e-12
        splits += 1
    return hits / splits
