"""Student models. Importing a model module registers it; adding a student = one file + one import here.

Also what a trained student is on disk (`artifact`: save/load) and its vocabularies (`vocab`), so that
training (kdbench.distill), `kdbench predict` and the benchmark all depend downward on this package."""

from kdbench.students import bert, bilstm, cnn  # noqa: F401  (registers the students)
from kdbench.students.registry import STUDENTS, StudentConfig, count_parameters, create_student, list_students

__all__ = ["STUDENTS", "StudentConfig", "count_parameters", "create_student", "list_students"]
