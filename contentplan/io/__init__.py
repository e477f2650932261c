"""Readers and writers shared by every command."""
from .documents import Document, read_document, read_documents
from .tables import detect_column, iter_table, read_table
from .writers import atomic_write, check_output_path, write_table

__all__ = ["Document", "read_documents", "read_document", "detect_column", "read_table",
           "iter_table", "write_table", "atomic_write", "check_output_path"]
