"""Referral Hub: a consent-aware exchange for referrals between agencies."""

__all__ = ["__version__"]

__version__ = "0.1.0"
