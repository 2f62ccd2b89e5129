"""Referee pages."""
