"""From a raw CRM export to the canonical tables: schema, readers, mapping, validation, intake, derivations and the demo client."""
