"""Models of the applications area: one file per table."""

from fellowship.applications.models.application import (
    Application,
    ApplicationStatus,
    EnvironmentalField,
    Gender,
    LanguageLevel,
    Sector,
)
from fellowship.applications.models.document import Document
from fellowship.applications.models.eligibility import EligibilityResult
from fellowship.applications.models.referee import Referee, RefereeStatus
from fellowship.applications.models.reference_series import ReferenceSeries

__all__ = ["Application", "ApplicationStatus", "Document", "EligibilityResult", "EnvironmentalField", "Gender",
           "LanguageLevel", "Referee", "RefereeStatus", "ReferenceSeries", "Sector"]
