"""Readers and writers shared by every command."""
from .documents import Document, read_documents, read_document
from .tables import detect_column, iter_table, read_table
from .writers import write_table, atomic_write, check_output_path

__all__ = ["Document", "read_documents", "read_document", "detect_column", "read_table",
           "iter_table", "write_table", "atomic_write", "check_output_path"]
