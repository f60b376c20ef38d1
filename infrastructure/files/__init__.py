"""Checks on uploaded file content: allowed extensions, magic bytes and text encoding."""
