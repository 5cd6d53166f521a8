"""Teacher side of the pipeline: backbones (hub, local or rebuilt from a PyPI package), fine-tuning and
soft labels."""
