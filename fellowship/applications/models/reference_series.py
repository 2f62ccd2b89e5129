"""The numbering of reference numbers: one counter per prefix and year, whichever calls share them."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from fellowship.models import Base


class ReferenceSeries(Base):
    """ELF-2027-00042 is number 42 of the series (ELF, 2027). Keyed by what the reference is made of, so two calls
    with the same prefix and year draw from one counter and can never hand out the same reference."""

    __tablename__ = "reference_series"
    __table_args__ = (CheckConstraint("last_number >= 0", name="last_number_not_negative"),)

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    #: The last number handed out; the next submit takes last_number + 1.
    last_number: Mapped[int] = mapped_column(default=0)
