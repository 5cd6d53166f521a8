"""Distillation building blocks: the KD losses, the students' vocabularies and their embedding
initialisations (random, FastText, the teacher's input embeddings)."""
