"""Revenue potential and white space."""
