"""Signal input and output: audio through libsndfile, CSV, and pipes."""

from .formats import format_from_name, output_format, output_subtype
from .reading import read
from .report import WriteReport
from .writing import write

__all__ = ["read", "write", "WriteReport", "format_from_name", "output_format", "output_subtype"]
