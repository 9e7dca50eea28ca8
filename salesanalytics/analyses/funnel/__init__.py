"""New-business and existing-customer funnels."""
