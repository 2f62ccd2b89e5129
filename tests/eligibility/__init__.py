"""Eligibility rules, screening at the deadline, staff overrides."""
