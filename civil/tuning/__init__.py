"""Tuning a site's policy: versions and history, calibration, shadow candidates, re-scoring."""
