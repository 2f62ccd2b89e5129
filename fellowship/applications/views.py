"""Applicant pages."""
