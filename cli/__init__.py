"""The `civil` command line."""
