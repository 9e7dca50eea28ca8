"""Portfolios, key accounts and the KPI catalogue."""
