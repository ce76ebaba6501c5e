"""The pipeline on one machine: the plan of tasks (each a step's command line), running and
resuming it, the demo, the simulated data of the tests, and Slurm's multi-node launch."""
