"""gan-runner: a Hydra-driven runner for GAN experiments."""
from gan_runner.sweep import resolvers

# The configs refer to these resolvers (launcher presets, wandb's group and name). Registering them on import
# covers every way a config gets composed: the CLI, each joblib worker, tests and scripts.
resolvers.register()
