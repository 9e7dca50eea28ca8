"""The executive summary."""
