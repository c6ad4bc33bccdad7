"""Consensus optimization (Mescheder, Nowozin & Geiger 2017) on a model that is not the Dirac-GAN: one training step
equals gradient descent on v + γ∇½‖v‖² with v = (∇_D L_D, ∇_G L_G), computed here from scratch with autograd."""
import pytest
import torch

LR, GAMMA = 0.05, 0.5
CASES = {
    "ns, no constraint": ["loss=ns"],
    "relativistic (G's loss reads D(real)), R1": ["loss=rsgan", "constraint=r1", "constraint.r1.gamma=1.0"],
}


def reference_step(module, G0, D0, real, z, gamma):
    """p - lr (v + γ ∇½‖v‖²), every derivative taken afresh on the initial nets."""
    g_params, d_params = list(G0.parameters()), list(D0.parameters())
    fake = G0(z)
    v_real, v_fake = D0(real), D0(fake)
    d_loss = module.loss.d_loss(v_real, v_fake)
    for c in module.constraints.items:  # R1's penalty, as D's objective adds it
        penalty = c.penalty(D0, real, fake)
        d_loss = d_loss + (penalty if penalty is not None else 0)
    g_loss = module.loss.g_loss(v_fake, v_real)
    v = [*torch.autograd.grad(d_loss, d_params, create_graph=True),
         *torch.autograd.grad(g_loss, g_params, create_graph=True)]
    regularizer = 0.5 * sum(x.pow(2).sum() for x in v)
    extra = torch.autograd.grad(regularizer, d_params + g_params)
    return [(p - LR * (x + gamma * e)).detach() for p, x, e in zip(d_params + g_params, v, extra)]


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_consensus_step_is_gradient_descent_on_the_regularized_field(cfg_factory, train_steps, case):
    base = ["data=ring", "model=mlp", "model.width=8", "model.depth=2", "optimizer=gd", f"optimizer.lr_g={LR}",
            f"optimizer.lr_d={LR}", "optimizer.update=simultaneous", *CASES[case]]
    module, _, (G0, D0, stream) = train_steps(cfg_factory([*base, f"optimizer.consensus={GAMMA}"]), steps=1,
                                              keep_initial=True)
    plain, _ = train_steps(cfg_factory([*base, "optimizer.consensus=0"]), steps=1)
    real = stream.step_batch(0)[0][0]
    torch.manual_seed(0)  # training's stream starts from the seed (see GAN.on_train_start)
    z = torch.randn(len(real), module.z_dim)
    expected = reference_step(module, G0, D0, real, z, GAMMA)
    got = [p.detach() for p in [*module.discriminator.parameters(), *module.generator.parameters()]]
    for g, e in zip(got, expected):
        torch.testing.assert_close(g, e, rtol=0, atol=1e-6)
    without = [p.detach() for p in [*plain.discriminator.parameters(), *plain.generator.parameters()]]
    gap = max((a - b).abs().max().item() for a, b in zip(got, without))
    assert gap > 1e-4  # the regularizer moved the weights: the test can tell consensus from plain simultaneous


def test_consensus_logs_half_the_squared_norm_of_the_field(cfg_factory, train_steps):
    cfg = cfg_factory(["data=ring", "model=mlp", "model.width=8", "optimizer.update=simultaneous",
                       "optimizer.consensus=1", "trainer.max_steps=2"])
    module, _ = train_steps(cfg, steps=2, batch_size=16)
    logged = module.trainer.logged_metrics
    assert "consensus" in logged and logged["consensus"] > 0
