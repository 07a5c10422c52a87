"""ConversionIQ shared layer: contracts, domain rules, the DynamoDB store, auth and HTTP helpers."""
