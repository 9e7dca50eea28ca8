"""Role profiles and headcount."""
