"""A sweep's folder opened in TensorBoard: the HParams view lists every job with its options and final metrics.

The view is read through the HParams plugin's own handlers, the code behind the table TensorBoard draws for
`tensorboard --logdir <sweep dir>`.
"""
import pytest
from conftest import job_dirs, run_cli

from gan_runner import results

pytest.importorskip("tensorboard")

IMAGE_JOBS = ["logger=tensorboard", "data=digits", "model=mlp", "model.width=16", "trainer.max_steps=4",
              "metrics.every_n_steps=0", "metrics.num_samples=100", "metrics.kid_subset_size=50",
              "trainer.enable_progress_bar=false"]


def hparams_view(logdir) -> dict[str, dict]:
    """{session: {hyperparameter or metric: value, "session_status": ...}}, as TensorBoard's HParams tab shows it."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(logdir))
    tb = backend_context.Context(base_plugin.TBContext(logdir=str(logdir), data_provider=provider))
    request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100, include_metrics=True,
                                               allowed_statuses=list(api_pb2.Status.values()))
    groups = list_session_groups.Handler(context.RequestContext(), tb, "", request).run().session_groups
    return {g.name: {**{k: v.string_value or v.number_value for k, v in g.hparams.items()},
                     **{m.name.tag: m.value for m in g.metric_values},
                     "session_status": api_pb2.Status.Name(g.sessions[0].status)} for g in groups}


@pytest.mark.heavy
def test_the_hparams_view_lists_each_job_with_its_loss_seed_and_final_fid(tmp_path, seeded_cache):
    sweep = tmp_path / "sweep"
    out = run_cli(["-m", f"hydra.sweep.dir={sweep}", *IMAGE_JOBS, "loss=ns,hinge,wasserstein", "seed=1"], tmp_path)
    assert out.returncode == 0, out.stderr[-3000:]
    view = hparams_view(sweep)
    jobs = job_dirs(sweep)
    assert sorted(view) == sorted(f"{job.name}/logs" for job in jobs)
    for job, loss in zip(jobs, ["ns", "hinge", "wasserstein"]):
        row = view[f"{job.name}/logs"]
        assert (row["loss"], row["seed"], row["status"], row["session_status"]) == (loss, 1, "completed",
                                                                                     "STATUS_SUCCESS")
        assert row["final/fid"] == pytest.approx(results.read(job / "metrics.json")["metrics"]["final"]["fid"])
