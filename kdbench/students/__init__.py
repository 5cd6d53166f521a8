"""Student models. Importing a model module registers it; adding a student = one file + one import here."""

from kdbench.students import bert, bilstm, cnn  # noqa: F401  (registers the students)
from kdbench.students.registry import StudentConfig, count_parameters, create_student, list_students

__all__ = ["StudentConfig", "count_parameters", "create_student", "list_students"]
