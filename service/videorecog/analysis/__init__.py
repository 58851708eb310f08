"""Pure video analysis: decoding, shot boundaries, covers and GIF covers.

No I/O but files, nothing of the rest of the project: it runs inside worker processes.
"""
