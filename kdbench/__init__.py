"""kdbench: a reproducible benchmark for distilling task-specific BERT teachers into small students."""

__version__ = "0.1.0"
