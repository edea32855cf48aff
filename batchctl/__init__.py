"""Operator commands for a running batchbot: ``python -m batchctl --help``."""
