"""The self-hosted videorecog API: front door, auth, job store, URL fetch, workers, covers."""
