"""A version counter for data that API responses are cached from.

Every write to a versioned table bumps the counter in the same transaction, so any process can
tell with one tiny query whether a cached response is still current.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class DataVersion(Base):
    __tablename__ = "data_version"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)
