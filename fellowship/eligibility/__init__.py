"""Eligibility: named rules screened at the deadline, each result with its reason; staff overrides."""
