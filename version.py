"""Themeboard's version, dotted major.minor.patch (the soundboard's ``/api/meta`` reports it)."""
__version__ = "1.0.0"
