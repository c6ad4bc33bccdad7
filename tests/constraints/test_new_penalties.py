"""lp, r2, dragan and div against exact values on critics whose input gradient is known in closed form."""
import pytest
import torch

from gan_runner.constraints import DRAGAN, R2, GradientPenalty, LipschitzPenalty, WGANDiv


def linear_critic(w):
    return lambda x: x.flatten(1) @ w


def quadratic_critic(a):
    """D(x) = a ||x||^2 / 2, whose input gradient is a x."""
    return lambda x: 0.5 * a * x.flatten(1).pow(2).sum(1)


def with_norm(norm, n=12):
    w = torch.randn(n, dtype=torch.float64)
    return w * norm / w.norm()


def batch(*shape):
    return torch.randn(*shape, dtype=torch.float64)


def test_lp_is_zero_when_the_critic_is_already_lipschitz():
    value = LipschitzPenalty(weight=10.0).penalty(linear_critic(with_norm(0.7)), batch(8, 3, 2, 2), batch(8, 3, 2, 2))
    assert value.item() == 0.0


def test_lp_equals_gp_when_every_gradient_norm_exceeds_one():
    real, fake = batch(8, 3, 2, 2), batch(8, 3, 2, 2)
    assert LipschitzPenalty(10.0).penalty(linear_critic(with_norm(3.0)), real, fake).item() == pytest.approx(40.0)
    # D(x) = w.x + 0.05 ||x||^2: the norm varies with x (so equality needs the same interpolates) but stays > 1
    w = with_norm(3.0)

    def critic(x):
        return x.flatten(1) @ w + 0.05 * x.flatten(1).pow(2).sum(1)

    values = []
    for penalty in (LipschitzPenalty(10.0), GradientPenalty(10.0)):
        torch.manual_seed(5)
        values.append(penalty.penalty(critic, real, fake).item())
    assert values[0] == pytest.approx(values[1], rel=1e-12)


def test_r2_penalizes_fake_samples_only():
    a, gamma = 3.0, 10.0
    fake = batch(16, 5)
    real = torch.full_like(fake, float("nan"))
    value = R2(gamma).penalty(quadratic_critic(a), real, fake)
    assert value.item() == pytest.approx(0.5 * gamma * (a**2 * fake.pow(2).sum(1)).mean().item(), rel=1e-10)


def test_dragan_is_exact_on_linear_critic_and_never_reads_fake():
    w = with_norm(2.5)
    fake = torch.full((8, 12), float("nan"), dtype=torch.float64)
    value = DRAGAN(weight=10.0).penalty(linear_critic(w), batch(8, 12), fake)
    assert value.item() == pytest.approx(10.0 * 1.5**2, rel=1e-10)


def recording_quadratic(seen):
    def critic(x):
        seen.append(x.detach())
        return quadratic_critic(1.0)(x)

    return critic


def test_dragan_paper_form_penalizes_at_real_plus_gaussian_noise_of_variance_c():
    real = batch(256, 3, 4, 4)
    seen = []
    torch.manual_seed(3)
    value = DRAGAN(weight=1.0, mode="paper", c=4.0).penalty(recording_quadratic(seen), real, real * float("nan"))
    delta = seen[0] - real
    assert delta.std().item() == pytest.approx(2.0, rel=0.02) and abs(delta.mean().item()) < 0.02
    # D(x) = ||x||^2 / 2 has gradient x + delta there: replay the RNG for the exact value
    torch.manual_seed(3)
    expected = ((real + 2.0 * torch.randn_like(real)).flatten(1).norm(dim=1) - 1.0).pow(2).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-10)


def test_dragan_code_form_interpolates_towards_a_perturbation_of_half_a_batch_std():
    real = batch(64, 3, 4, 4)
    seen = []
    torch.manual_seed(3)
    value = DRAGAN(weight=1.0, mode="code").penalty(recording_quadratic(seen), real, real * float("nan"))
    delta, bound = seen[0] - real, 0.5 * real.std(correction=0)
    assert delta.min() >= 0 and delta.max() < bound
    assert delta[0].unique().numel() == delta[0].numel()  # one U[0,1) draw per element, not per sample
    torch.manual_seed(3)
    perturbed = real + bound * torch.rand_like(real)
    alpha = torch.rand(64, 1, 1, 1, dtype=real.dtype)
    expected = ((real + alpha * (perturbed - real)).flatten(1).norm(dim=1) - 1.0).pow(2).mean()
    assert value.item() == pytest.approx(expected.item(), rel=1e-10)


def test_dragan_rejects_bad_settings():
    for kwargs in ({"weight": -1.0}, {"c": 0.0}, {"mode": "paperish"}):
        with pytest.raises(ValueError, match="constraint.dragan"):
            DRAGAN(**kwargs)


def test_div_matches_its_formula_on_a_quadratic_critic():
    a, k, p = 0.8, 2.0, 6.0
    real, fake = batch(16, 3, 2, 2), batch(16, 3, 2, 2)
    value = WGANDiv(k, p).penalty(quadratic_critic(a), real, fake)

    def mean_power(x):
        return (a * x.flatten(1).norm(dim=1)).pow(p).mean()

    expected = k * 0.5 * (mean_power(real) + mean_power(fake))
    assert value.item() == pytest.approx(expected.item(), rel=1e-10)


@pytest.mark.parametrize("penalty", [LipschitzPenalty(), R2(), DRAGAN(), WGANDiv()], ids=lambda c: type(c).__name__)
def test_new_penalties_need_per_sample_gradients_and_train_only_the_critic(penalty):
    assert penalty.per_sample_gradients
    critic = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    real, fake = torch.randn(5, 4), torch.randn(5, 4, requires_grad=True)
    # steep enough (||grad|| > 1) that the one-sided penalty is active too
    penalty.penalty(lambda x: 20 * critic(x).squeeze(1), real, fake).backward()
    assert critic[0].weight.grad.abs().sum() > 0
    assert fake.grad is None and not real.requires_grad
