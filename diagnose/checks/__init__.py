"""Checks: each module gathers one kind of evidence and returns a CheckResult.

Checks do I/O and report what they saw; they never decide a failure case (that is the rules').
"""
