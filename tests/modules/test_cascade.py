"""variant=cascade (Na et al. 2019): each later stage blind to the earlier stages' directions, the losses summed
over the stages, real steps with a constraint of each family, and its refusals."""
import pytest
import torch
from torch import nn

from gan_runner.errors import UserError
from gan_runner.modules.cascade import stage_scores
from gan_runner.validate import validate


def heads(*weights: list[float]) -> list[nn.Linear]:
    made = []
    for w in weights:
        head = nn.Linear(len(w), 1)
        with torch.no_grad():
            head.weight.copy_(torch.tensor([w])), head.bias.fill_(0.5)
        made.append(head)
    return made


def test_stage_two_reads_what_stage_one_left():
    v = torch.tensor([[3.0, 4.0], [-1.0, 2.0]])
    first, second = stage_scores(v, heads([1.0, 0.0], [1.0, 1.0]))
    assert torch.allclose(first, v[:, 0] + 0.5)
    assert torch.allclose(second, v[:, 1] + 0.5)  # (1, 1) on v less its e1 part: the e2 part alone


def test_each_stage_is_blind_to_the_earlier_stages_directions():
    """In float64 (a float64 run's precision, kept by stage_scores): moving v along an earlier stage's w leaves every
    later stage's scores within 1e-6 (about 1e-15 here)."""
    torch.manual_seed(0)
    stacked = [nn.Linear(6, 1, dtype=torch.float64) for _ in range(4)]
    v = torch.randn(5, 6, dtype=torch.float64)
    before = stage_scores(v, stacked)
    assert all(s.dtype == torch.float64 for s in before)
    for j, head in enumerate(stacked[:-1]):
        moved = stage_scores(v + 3.0 * head.weight.detach(), stacked)
        for k in range(j + 1, len(stacked)):
            torch.testing.assert_close(moved[k], before[k], atol=1e-6, rtol=0, msg=f"stage {k} after moving {j}")
        assert not torch.allclose(moved[j], before[j])


def test_both_players_sum_the_loss_over_the_stages(cfg_factory, train_steps):
    module, before = train_steps(cfg_factory(["data=ring", "model=mlp", "model.width=8", "variant=cascade",
                                              "variant.stages=3", "loss=hinge"]))
    assert any(not torch.equal(a, b) for a, b in zip(before, module.generator.parameters()))
    batch = module._play(torch.randn(16, 2), None, train_generator=False)
    total, logs = module.d_objective(batch)
    real, fake = (stage_scores(side.features, [module.d_part("head"), *module.d_part("stages")])
                  for side in (batch.real, batch.fake))
    expected = sum(module.loss.d_loss(r, f) for r, f in zip(real, fake))
    assert total.item() == pytest.approx(expected.item(), rel=1e-6) and {"d_stage2", "d_stage3"} <= logs.keys()


@pytest.mark.parametrize("constraint", ["gp", "sn", "clip", "noise"])
def test_cascade_trains_with_every_constraint_family(cfg_factory, train_steps, constraint):
    cfg = cfg_factory(["data=digits", "model.width=8", "variant=cascade", f"constraint={constraint}"])
    validate(cfg)
    module, before = train_steps(cfg)
    assert module.iteration == 2 and all(torch.isfinite(p).all() for p in module.parameters())
    if constraint == "clip":  # the later stages are D's score weights: clipped too
        assert all(p.abs().max() <= 0.01 for p in module.d_part("stages").parameters())


@pytest.mark.parametrize("overrides, message", [
    (["loss=ragan"], "a relativistic loss would pair stages"),
    (["constraint=gn"], "constraint gn rescales D's score"),
    (["model.minibatch_discrimination=true", "constraint=sn"], "feeds D's first stage alone"),
])
def test_what_cascade_cannot_take_is_refused(cfg_factory, overrides, message):
    with pytest.raises(UserError, match=message):
        validate(cfg_factory(["variant=cascade", *overrides]))
