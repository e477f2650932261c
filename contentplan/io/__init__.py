"""Readers and writers shared by every command."""
from .documents import Document, read_documents, read_document
from .tables import detect_column, read_table, read_texts_file
from .writers import write_table, atomic_write, check_output_path

__all__ = ["Document", "read_documents", "read_document", "detect_column", "read_table",
           "read_texts_file", "write_table", "atomic_write", "check_output_path"]
