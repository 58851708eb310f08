"""The pipeline: upload events in, signed API calls, polled jobs, one result per video out."""
