"""diagnose: find out why a partner's PartnerStack referral was not tracked."""

__version__ = "0.1.0"
