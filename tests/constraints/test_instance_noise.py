"""Instance noise: the linear schedule, and noise on every critic input of the training module."""
import pytest
import torch
from torch import nn

from gan_runner.constraints import Constraints, InstanceNoise
from gan_runner.losses import Wasserstein
from gan_runner.modules.gan import GAN
from gan_runner.modules.sides import Batch, Side


class Recorder(nn.Module):
    """A critic that remembers what it was shown."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(()))
        self.seen = []

    def forward(self, x):
        self.seen.append(x.detach().clone())
        return self.w * x.flatten(1).sum(1)


def test_sigma_anneals_linearly_to_exactly_zero_and_stays_there():
    noise = InstanceNoise(sigma=0.1, anneal_steps=100)
    schedule = Constraints([noise])
    expected = {0: 0.1, 25: 0.075, 50: 0.05, 99: 0.001, 100: 0.0, 101: 0.0, 10_000: 0.0}
    for step, sigma in expected.items():
        schedule.set_step(step)
        assert noise.sigma() == pytest.approx(sigma, abs=1e-15)
    schedule.set_step(100)
    assert noise.sigma() == 0.0


def test_noise_hits_real_and_fake_in_both_steps_with_the_scheduled_sigma():
    torch.manual_seed(0)
    noise = InstanceNoise(sigma=0.1, anneal_steps=10)
    critic = Recorder()
    module = GAN(generator=lambda: nn.Linear(2, 2), discriminator=lambda: critic, loss=Wasserstein(),
                 constraints=Constraints([noise]), optimizer={}, z_dim=2)
    real, fake = torch.randn(20_000, 2), torch.randn(20_000, 2)

    def batch():
        return Batch(Side(real, None), Side(fake, None), z=None)

    for step, sigma in [(0, 0.1), (5, 0.05)]:
        module.constraints.set_step(step)
        critic.seen.clear()
        module.d_objective(batch())
        module.g_objective(batch())
        shown = dict(zip(["d_real", "d_fake", "g_fake"], critic.seen))
        for name, x in [("d_real", real), ("d_fake", fake), ("g_fake", fake)]:
            delta = shown[name] - x
            assert delta.std().item() == pytest.approx(sigma, rel=0.03), name
            assert delta.mean().abs().item() < 0.05 * sigma
    # eval mode does not switch the noise off; only the schedule does
    module.eval()
    for step, noisy in [(0, True), (10, False)]:
        module.constraints.set_step(step)
        critic.seen.clear()
        module.d_objective(batch())
        assert torch.equal(critic.seen[0], real) is not noisy and torch.equal(critic.seen[1], fake) is not noisy

def test_bad_schedule_is_rejected():
    with pytest.raises(ValueError, match="anneal_steps"):
        InstanceNoise(anneal_steps=0)
