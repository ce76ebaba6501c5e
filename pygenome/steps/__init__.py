"""The steps: one module per ``pygenome`` subcommand and Nextflow module, of the same name. A step
imports formats, models and interpretation, never another step."""
