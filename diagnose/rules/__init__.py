"""Rules: pure functions of evidence and ticket facts that diagnose the failure cases."""
