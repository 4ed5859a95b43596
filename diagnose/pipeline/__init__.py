"""The pipeline: gather the evidence a ticket allows (running the registered checks), save and load
it (gather once, explain offline), and redact it for reports that leave the company."""
