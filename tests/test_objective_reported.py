"""An objective the run's evaluation never reports is refused before any work: the data kind's metrics, and on
images a variant's own (CatGAN's clusters, InfoGAN's codes) or those of conditional samples only with that variant."""
import pytest

from gan_runner.errors import UserError
from gan_runner.preflight import check


@pytest.mark.parametrize("args, message", [
    (["objective=cluster_accuracy"], "objective=cluster_accuracy is not reported on data=mnist5k \\(image\\) with "
                                     "variant=gan: choose one of class_kl, classes_covered, coverage, density, fid"),
    (["variant=infogan", "objective=class_accuracy"], "objective=class_accuracy is not reported on .* variant=infogan"),
    (["variant=catgan", "objective=code_accuracy"], "objective=code_accuracy is not reported on .* variant=catgan"),
])
def test_an_objective_the_variant_never_reports_is_refused(args, message):
    with pytest.raises(UserError, match=message) as refused:
        check(args)
    assert "\n" not in str(refused.value) and "test_" not in str(refused.value)


@pytest.mark.parametrize("args", [["variant=catgan", "objective=cluster_accuracy"],
                                  ["variant=infogan", "objective=q_accuracy"],
                                  ["variant=projection", "loss=hinge", "objective=class_accuracy"],
                                  ["variant=acgan", "objective=intra_fid"], ["objective=classes_covered"]])
def test_an_objective_the_variant_reports_is_accepted(args):
    check(args)
