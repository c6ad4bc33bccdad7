"""The sweep layer: where each job of a multirun runs (CPU threads, GPU slots), what a failed job leaves behind, and
`gan-report`, which turns the files the jobs wrote into one table and a few plots."""
