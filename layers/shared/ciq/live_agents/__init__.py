"""The live-agents service (docs/api/live-agents.md): what the external service holds of an agent,
normalization of its records, the httpx client, and the sync between it and the store.

Nothing here is imported eagerly: `tracking` and `normalize` are pure and cheap; `client` pulls in
httpx and is imported only by code that talks to the service."""
