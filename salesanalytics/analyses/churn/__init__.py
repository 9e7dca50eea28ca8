"""Churn and retention."""
