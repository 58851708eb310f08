"""What both sides of the API share: constants, signing (v1 and ACS3), error codes, envelopes.

Imports nothing else of the project, so the client, the engine and the tests can all rely on it.
"""
