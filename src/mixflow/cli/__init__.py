"""The mixflow command line."""
