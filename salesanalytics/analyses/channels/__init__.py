"""Channel mix (cost-to-serve, assignment) and the segment x product-group channel matrix."""
