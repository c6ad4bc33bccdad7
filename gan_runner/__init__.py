"""gan-runner: a Hydra-driven runner for GAN experiments."""
