"""The KPI system and the sales cockpits."""
