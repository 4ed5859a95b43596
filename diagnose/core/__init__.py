"""The core: the evidence model, the ticket, errors and exit codes, and the PartnerStack domain
(every fact about the platform). Everything else imports from here; the core imports nothing of
the rest of the package."""
